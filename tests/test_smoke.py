from vonage_voice import CreateCallRequest, Talk


def test_sdk_places_a_talk_call_and_the_receiver_sees_the_documented_events(client, receiver):
    response = client.voice.create_call(CreateCallRequest(
        to=[{"type": "phone", "number": "447700900000"}],
        from_={"type": "phone", "number": "447700900100"},
        ncco=[Talk(text="Hello from the sandbox")],
        event_url=[receiver.url("event")],
    ))
    assert response.status == "started" and response.direction == "outbound"
    assert receiver.wait_for_status("completed") == ["started", "ringing", "answered", "completed"]
