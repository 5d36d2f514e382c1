// Drives the official Mixpanel Node client (npm "mixpanel") for mpsim's tests, unchanged.
// Usage: node node_client.js '<json>' where json = {"token", "config", "calls": [[method, ...args], ...]}.
// "method" is a client method path ("track", "import", "import_batch", "people.set", "groups.set", ...);
// config.credentials = [username, secret, project_id] becomes a ServiceAccountCredentials.
// Prints one JSON line: [{"call": method, "error": message or null, "errors": [...] for batches}, ...].
"use strict";
const Mixpanel = require("mixpanel");

const spec = JSON.parse(process.argv[2]);
const config = Object.assign({}, spec.config || {});
if (Array.isArray(config.credentials)) {
  config.credentials = new Mixpanel.ServiceAccountCredentials(...config.credentials);
}
const mp = Mixpanel.init(spec.token, config);

function call(method, args) {
  return new Promise((resolve) => {
    let target = mp;
    const path = method.split(".");
    const name = path.pop();
    for (const part of path) target = target[part];
    const done = (err) => {
      if (Array.isArray(err)) {
        resolve({ call: method, error: err.length ? String(err[0]) : null, errors: err.map(String) });
      } else {
        resolve({ call: method, error: err ? String(err.message || err) : null });
      }
    };
    try {
      target[name].apply(target, args.concat([done]));
    } catch (exc) {
      resolve({ call: method, error: "thrown: " + exc.message });
    }
  });
}

(async () => {
  const results = [];
  for (const [method, ...args] of spec.calls) {
    results.push(await call(method, args));
  }
  process.stdout.write(JSON.stringify(results) + "\n");
  process.exit(0);
})();
