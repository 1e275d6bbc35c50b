HOST = "447700900501"

@ws.answer
def answer(call):
    if call["from"] == HOST:
        room = Conversation(name="team-standup", endOnExit=True)
    else:
        room = Conversation(name="team-standup", startOnEnter=False, musicOnHoldUrl=[ws.hold_music_url])
    return [Talk(text="Welcome to the stand-up."), room]
