@ws.answer
def answer(call):
    return [Talk(text=f"Hello {call['from']}, thanks for calling.")]
