// Download a recording with the SDK's file client.
require('dotenv').config({ path: __dirname + '/../.env' });

const VONAGE_APPLICATION_ID = process.env.VONAGE_APPLICATION_ID;
const VONAGE_PRIVATE_KEY = process.env.VONAGE_PRIVATE_KEY;
const VOICE_RECORDING_URL = process.env.VOICE_RECORDING_URL;
const VOICE_RECORDING_DESTINATION = process.env.VOICE_RECORDING_DESTINATION;

const { FileClient } = require('@vonage/server-client');

const fileClient = new FileClient({
  applicationId: VONAGE_APPLICATION_ID,
  privateKey: VONAGE_PRIVATE_KEY,
});

fileClient.downloadFile(VOICE_RECORDING_URL, VOICE_RECORDING_DESTINATION)
  .then(() => console.log(`File Downloaded to ${VOICE_RECORDING_DESTINATION}`))
  .catch((error) => { console.error(error); process.exitCode = 1; });
