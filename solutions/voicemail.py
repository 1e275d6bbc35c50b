@ws.answer
def answer(call):
    return [
        Talk(text="Sorry, nobody can take your call. Please leave a message."),
        Record(beepStart=True, endOnSilence=3, eventUrl=[ws.webhook_url("recording")]),
        Talk(text="Thank you. Goodbye."),
    ]
