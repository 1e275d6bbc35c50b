// Make a call with an inline NCCO: record it in the background, then talk until hung up.
require('dotenv').config({ path: __dirname + '/../.env' });

const VONAGE_APPLICATION_ID = process.env.VONAGE_APPLICATION_ID;
const VONAGE_PRIVATE_KEY = process.env.VONAGE_PRIVATE_KEY;
const VOICE_TO_NUMBER = process.env.VOICE_TO_NUMBER;
const VONAGE_VIRTUAL_NUMBER = process.env.VONAGE_VIRTUAL_NUMBER;

const { Vonage } = require('@vonage/server-sdk');

const vonage = new Vonage({
  applicationId: VONAGE_APPLICATION_ID,
  privateKey: VONAGE_PRIVATE_KEY,
});

vonage.voice.createOutboundCall({
  to: [{ type: 'phone', number: VOICE_TO_NUMBER }],
  from: { type: 'phone', number: VONAGE_VIRTUAL_NUMBER },
  ncco: [
    { action: 'record', format: 'wav' },
    { action: 'talk', text: 'You are on a call made from Node.', loop: 0 },
  ],
})
  .then((resp) => console.log(JSON.stringify(resp)))
  .catch((error) => { console.error(error); process.exitCode = 1; });
