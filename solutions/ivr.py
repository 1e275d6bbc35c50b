AGENT = "447700900950"

@ws.answer
def answer(call):
    if not office_open():
        return voicemail("Acme is closed. Our hours are 9 to 5, Monday to Friday. Please leave a message.")
    return [Talk(text="Welcome to Acme.")] + menu()

@ws.on_input
def on_input(event):
    key = event["dtmf"]["digits"]
    if key == "1":
        room = f"agent-{event['uuid']}"
        ws.client.voice.create_call(CreateCallRequest(
            to=[ToPhone(number=AGENT)],
            from_=Phone(number=ws.number),
            ncco=[Conversation(name=room)],
        ))
        return [Talk(text="Connecting you to an agent."), Conversation(name=room)]
    if key == "2":
        return voicemail("Please leave a message after the beep.")
    if key:
        return [Talk(text="Sorry, that is not an option.")] + menu()
    return [Talk(text="Sorry, I did not hear a key.")] + menu()
