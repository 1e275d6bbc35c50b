COURIER = "447700900511"
CUSTOMER = "447700900512"
OTHER = {COURIER: CUSTOMER, CUSTOMER: COURIER}

@ws.answer
def answer(call):
    other = OTHER.get(call["from"])
    if other is None:
        return [Talk(text="Sorry, we cannot find a delivery for your number.")]
    return [
        Talk(text="Putting you through."),
        Connect(endpoint=[PhoneEndpoint(number=other)], from_=ws.number),
    ]
