// Runs RudderStack's Node SDK, unchanged, against a data plane:
//   node node_calls.js DATA_PLANE_URL WRITE_KEY '[["identify", {...}], ["track", {...}]]'
// then flushes and prints {"errors": [...]} (one entry per failed upload: the HTTP status or error code).
'use strict';
const Analytics = require('@rudderstack/rudder-sdk-node');

const [url, writeKey, callsJson] = process.argv.slice(2);
const errors = [];
const client = new Analytics(writeKey, {
  dataPlaneUrl: url,
  retryCount: 0,
  flushInterval: 60000,
  logLevel: 'error',
  errorHandler: (err) => errors.push(err && err.response ? err.response.status : String(err && err.code)),
});
for (const [method, payload] of JSON.parse(callsJson)) {
  if (typeof payload.timestamp === 'string') payload.timestamp = new Date(payload.timestamp); // the SDK wants a Date
  client[method](payload);
}
client
  .flush()
  .catch((err) => errors.push(String(err)))
  .finally(() => {
    process.stdout.write(JSON.stringify({ errors }) + '\n');
    process.exit(0);
  });
