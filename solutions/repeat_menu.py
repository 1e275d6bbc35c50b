@ws.on_input
def on_input(event):
    digit = event["dtmf"]["digits"]
    if digit not in ("1", "2"):
        return [
            Talk(text="Press 1 for sales or 2 for support."),
            Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")]),
        ]
    team = {"1": "sales", "2": "support"}[digit]
    return [Talk(text=f"You pressed {digit}. Connecting you to {team}.")]
