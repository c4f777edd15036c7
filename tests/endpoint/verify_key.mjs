// Verifies X-Signature-Ed25519 the way a main app does: discord-interactions' verifyKey (npm).
// usage: node verify_key.mjs  (stdin: JSON lines {"body_b64", "signature", "timestamp",
// "public_key"}); prints one line per input: true or false.
import { verifyKey } from "discord-interactions";
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { body_b64, signature, timestamp, public_key } = JSON.parse(line);
  const body = Buffer.from(body_b64, "base64");
  const valid = await verifyKey(body, signature, timestamp, public_key);
  process.stdout.write(String(valid) + "\n");
}
