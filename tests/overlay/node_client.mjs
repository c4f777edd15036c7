// A Socket.IO client on the official socket.io-client (npm), driven by test_node_client.py.
// usage: node node_client.mjs URL OPTIONS_JSON
//   OPTIONS_JSON: {"auth": {...}, "query": {...}, "headers": {...}, "namespace": "/overlay"}
// Prints one JSON line per event (connect, overlay, connect_error, disconnect); exits when
// stdin closes, on connect_error, or after 60 s.
import { io } from "socket.io-client";

const [url, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || "{}");
const out = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const socket = io(url + (options.namespace ?? "/overlay"), {
  path: "/socket.io",
  auth: options.auth ?? {},
  query: options.query ?? {},
  extraHeaders: options.headers ?? {},
  transports: options.transports ?? ["websocket"],
  tryAllTransports: options.tryAllTransports ?? false,
  reconnection: false,
  timeout: 10000,
});

const finish = (code) => {
  socket.close();
  process.exit(code);
};

socket.on("connect", () => out({ event: "connect" }));
socket.on("overlay", (data) => out({ event: "overlay", data }));
socket.on("disconnect", (reason) => out({ event: "disconnect", reason }));
socket.on("connect_error", (err) => {
  out({ event: "connect_error", message: err.message });
  finish(0);
});
process.stdin.on("end", () => finish(0));
process.stdin.resume();
setTimeout(() => finish(2), 60000).unref();
