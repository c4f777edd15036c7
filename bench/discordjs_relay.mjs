// The discord.js peer of the interaction relay, for bench/discordjs_peer_bench.py.
//
// The same job as the server's relay in its default mode, on discord.js's own packages:
// @discordjs/ws (the gateway, zlib-stream like the server) and @discordjs/rest (the
// acknowledgement: interaction callbacks go through its BurstHandler, no queue), forwards on
// Node's fetch (undici, no cap on connections), signed like the server's (HMAC-SHA256 and
// Ed25519). Per INTERACTION_CREATE: the defer of the contract's table (command 5, component 6,
// modal 6 from a message, else 5), a second click on one message within 3 s gets the cooldown
// reply and is not forwarded; then POST {FORWARD_BASE}/command|component|modal|autocomplete;
// a failed forward edits @original (a component's error is an ephemeral follow-up) with the
// error message. No retries and no journal: this is the floor, not a replacement.
//
//     node bench/discordjs_relay.mjs API_BASE BOT_TOKEN FORWARD_BASE AUTH_TOKEN
// prints "ready" once shard 0 is READY; exits when stdin ends.

import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { REST } from "@discordjs/rest";
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from "@discordjs/ws";

const [apiBase, token, forwardBase, authToken] = process.argv.slice(2);
const ERROR_MESSAGE = "Sorry, something went wrong. Please try again.";
const COOLDOWN = "Please wait a couple seconds before using another button on this message.";
const PATHS = { 2: "/command", 3: "/component", 4: "/autocomplete", 5: "/modal" };
const { privateKey } = generateKeyPairSync("ed25519");

const [api, version] = apiBase.match(/^(.*)\/v(\d+)$/).slice(1);
const rest = new REST({ api, version }).setToken(token);
const manager = new WebSocketManager({
  token,
  intents: 5,
  rest,
  compression: CompressionMethod.ZlibNative,
});

let applicationId = null;
const lastClick = new Map(); // component message id -> ms of its last click

function firstResponse(interaction) {
  if (interaction.type === 2) return { type: 5 };
  if (interaction.type === 3) return { type: 6 };
  return interaction.message ? { type: 6 } : { type: 5 };
}

async function forward(interaction) {
  const body = JSON.stringify(interaction);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const hmac = createHmac("sha256", authToken).update(`${timestamp}.${body}`).digest("hex");
  const ed25519 = sign(null, Buffer.from(timestamp + body), privateKey).toString("hex");
  const answer = await fetch(forwardBase + PATHS[interaction.type], {
    method: "POST",
    body,
    headers: {
      "Content-Type": "application/json",
      Authorization: authToken,
      "X-Interaction-Id": interaction.id,
      "X-Response-Mode": "deferred",
      "X-Signature-Timestamp": timestamp,
      "X-Signature-SHA256": hmac,
      "X-Signature-Ed25519": ed25519,
    },
    signal: AbortSignal.timeout(10_000),
  });
  await answer.arrayBuffer();
  if (!answer.ok) throw new Error(`main app answered ${answer.status}`);
}

async function tellUser(interaction) {
  const webhook = `/webhooks/${applicationId}/${interaction.token}`;
  if (interaction.type === 3 || interaction.message) {
    await rest.post(webhook, { body: { content: ERROR_MESSAGE, flags: 64 }, auth: false });
  } else {
    await rest.patch(`${webhook}/messages/@original`, { body: { content: ERROR_MESSAGE }, auth: false });
  }
}

async function handle(interaction) {
  const callback = `/interactions/${interaction.id}/${interaction.token}/callback`;
  if (interaction.type === 3) {
    const now = Date.now();
    const last = lastClick.get(interaction.message.id);
    lastClick.set(interaction.message.id, now);
    if (last !== undefined && now - last < 3000) {
      const body = { type: 4, data: { content: COOLDOWN, flags: 64 } };
      await rest.post(callback, { body, auth: false });
      return;
    }
  }
  if (interaction.type !== 4) {
    try {
      await rest.post(callback, { body: firstResponse(interaction), auth: false });
    } catch {
      return; // not acknowledged: not forwarded (the contract's defer mode)
    }
  }
  try {
    await forward(interaction);
  } catch {
    await tellUser(interaction).catch(() => {});
  }
}

manager.on(WebSocketShardEvents.Dispatch, (payload) => {
  if (payload.t === "READY") {
    applicationId = payload.d.application.id;
    process.stdout.write("ready\n");
  } else if (payload.t === "INTERACTION_CREATE") {
    handle(payload.d).catch((error) => process.stderr.write(`${error}\n`));
  }
});

await manager.connect();
process.stdin.resume();
process.stdin.on("end", async () => {
  await manager.destroy();
  process.exit(0);
});
