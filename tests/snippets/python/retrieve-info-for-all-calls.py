# List the calls of the last day.
import os
from datetime import datetime, timedelta, timezone
from os.path import dirname, join
from pprint import pprint

from dotenv import load_dotenv

dotenv_path = join(dirname(__file__), '../.env')
load_dotenv(dotenv_path)

VONAGE_APPLICATION_ID = os.environ.get('VONAGE_APPLICATION_ID')
VONAGE_PRIVATE_KEY = os.environ.get('VONAGE_PRIVATE_KEY')

from vonage import Auth, Vonage
from vonage_voice import ListCallsFilter

client = Vonage(
    Auth(
        application_id=VONAGE_APPLICATION_ID,
        private_key=VONAGE_PRIVATE_KEY,
    )
)

now = datetime.now(timezone.utc)
calls, _ = client.voice.list_calls(
    ListCallsFilter(
        date_start=(now - timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ'),
        date_end=(now + timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%M:%SZ'),
    )
)

for call in calls:
    pprint(call)
