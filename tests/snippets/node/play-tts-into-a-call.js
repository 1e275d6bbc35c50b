// Speak into a call in progress.
require('dotenv').config({ path: __dirname + '/../.env' });

const VONAGE_APPLICATION_ID = process.env.VONAGE_APPLICATION_ID;
const VONAGE_PRIVATE_KEY = process.env.VONAGE_PRIVATE_KEY;
const VOICE_CALL_ID = process.env.VOICE_CALL_ID;
const VOICE_TEXT = process.env.VOICE_TEXT;

const { Vonage } = require('@vonage/server-sdk');

const vonage = new Vonage({
  applicationId: VONAGE_APPLICATION_ID,
  privateKey: VONAGE_PRIVATE_KEY,
});

vonage.voice.playTTS(VOICE_CALL_ID, { text: VOICE_TEXT, language: 'en-GB' })
  .then((resp) => console.log(JSON.stringify(resp)))
  .catch((error) => { console.error(error); process.exitCode = 1; });
