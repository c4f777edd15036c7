// The discord.js peer of the event forwarder, for bench/events_bench.py.
//
// The same job as the server's events in their simplest form, on discord.js's own gateway
// package: @discordjs/ws (zlib-stream like the server) receives MESSAGE_CREATE, and each one
// is POSTed at once with Node's fetch (undici) as {"events": [Event]}, signed like the
// server's (HMAC-SHA256 and Ed25519). No batching, no lanes (no order per guild), no journal,
// no retries: this is the floor, not a replacement.
//
//     node bench/discordjs_events.mjs API_BASE BOT_TOKEN EVENTS_URL AUTH_TOKEN
// prints "ready" once shard 0 is READY; exits when stdin ends.

import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { REST } from "@discordjs/rest";
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from "@discordjs/ws";

const [apiBase, token, eventsUrl, authToken] = process.argv.slice(2);
const { privateKey } = generateKeyPairSync("ed25519");
const [api, version] = apiBase.match(/^(.*)\/v(\d+)$/).slice(1);
const rest = new REST({ api, version }).setToken(token);
const manager = new WebSocketManager({
  token,
  intents: 1 | (1 << 9), // GUILDS | GUILD_MESSAGES
  rest,
  compression: CompressionMethod.ZlibNative,
});

async function deliver(payload, shardId) {
  const event = {
    id: `${shardId}:${payload.s}`,
    type: payload.t,
    source: "gateway",
    shard: shardId,
    guild_id: payload.d.guild_id ?? null,
    received_at: Date.now(),
    data: payload.d,
  };
  const body = JSON.stringify({ events: [event] });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const hmac = createHmac("sha256", authToken).update(`${timestamp}.${body}`).digest("hex");
  const ed25519 = sign(null, Buffer.from(timestamp + body), privateKey).toString("hex");
  const answer = await fetch(eventsUrl, {
    method: "POST",
    body,
    headers: {
      "Content-Type": "application/json",
      "X-Signature-Timestamp": timestamp,
      "X-Signature-SHA256": hmac,
      "X-Signature-Ed25519": ed25519,
    },
    signal: AbortSignal.timeout(10_000),
  });
  await answer.arrayBuffer();
}

manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
  if (payload.t === "READY") {
    process.stdout.write("ready\n");
  } else if (payload.t === "MESSAGE_CREATE") {
    deliver(payload, shardId).catch((error) => process.stderr.write(`${error}\n`));
  }
});

await manager.connect();
process.stdin.resume();
process.stdin.on("end", async () => {
  await manager.destroy();
  process.exit(0);
});
