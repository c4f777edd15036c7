// The real discord.js REST client (@discordjs/rest, npm) pointed at the REST proxy, driven by
// test_proxy_node.py.
// usage: node proxy_client.mjs BASE_URL AUTH_TOKEN CHANNEL_ID LIMITED_CHANNEL_ID
// Prints one JSON object with what each call answered, then exits.
import { REST, RESTEvents } from "@discordjs/rest";

const [base, authToken, channel, limitedChannel] = process.argv.slice(2);

// As the README tells a main app: the proxy's base, AUTH_TOKEN instead of a bot token (also
// on the token routes that discord.js sends without auth).
const rest = new REST({
  api: `${base}/discord/api`,
  authPrefix: "Bearer",
  headers: { Authorization: `Bearer ${authToken}` },
  rejectOnRateLimit: [`/channels/${limitedChannel}`],
  timeout: 15000,
}).setToken(authToken);

const rateLimited = [];
rest.on(RESTEvents.RateLimited, (info) => rateLimited.push({ route: info.route, retryAfter: info.retryAfter }));

const out = {};
const created = await rest.post(`/channels/${channel}/messages`, {
  body: { content: "hello from discord.js" },
  reason: "proxy test",
});
out.created = created;
out.edited = await rest.patch(`/channels/${channel}/messages/${created.id}`, {
  body: { content: "edited by discord.js" },
});
for (const emoji of ["👍", "🎉"]) {
  await rest.put(`/channels/${channel}/messages/${created.id}/reactions/${encodeURIComponent(emoji)}/@me`);
}
out.fetched = await rest.get(`/channels/${channel}/messages/${created.id}`);
out.uploaded = await rest.post(`/channels/${channel}/messages`, {
  body: { content: "a file" },
  files: [{ name: "hello.txt", data: Buffer.from("hello, file\n"), contentType: "text/plain" }],
});
try {
  await rest.post(`/channels/${limitedChannel}/messages`, { body: { content: "too soon" } });
  out.limited = null;
} catch (error) {
  out.limited = {
    name: error.name,
    retryAfter: error.retryAfter,
    route: error.route,
    global: error.global,
  };
}
out.rateLimited = rateLimited;
process.stdout.write(JSON.stringify(out) + "\n");
