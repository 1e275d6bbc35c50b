def send_code(number):
    response = ws.client.voice.create_call(CreateCallRequest(
        to=[ToPhone(number=number)],
        from_=Phone(number=ws.number),
        ncco=[Talk(text="Your code is 1 2 3 4")],
    ))
    return response.uuid
