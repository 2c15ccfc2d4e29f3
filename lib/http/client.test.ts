// The internal client against a real socket: answers whatever their status, JSON or text; the caller's
// request id passed on; a peer that refuses or does not answer in time is PeerUnreachable; an event stream
// read as it arrives.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient, PeerUnreachable } from "./client.ts";

describe("HttpClient", () => {
  let server: http.Server;
  let base = "";
  const seen: { method: string | undefined; id: string | undefined; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ method: req.method, id: req.headers["x-request-id"] as string | undefined, body });
        if (req.url === "/json")
          res.writeHead(409, { "content-type": "application/json" }).end('{"code":"X"}');
        else if (req.url === "/text") res.writeHead(200).end("plain");
        else if (req.url === "/slow") setTimeout(() => res.end("{}"), 500);
        else if (req.url === "/events") {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write(': connected\n\nid: 1\nevent: change\ndata: {"a":1}\n\n');
          res.end("id: 2\ndata: x\ndata: y\n\n");
        } else res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("returns answers whatever their status, JSON parsed, text as text, and sends JSON bodies", async () => {
    const client = new HttpClient();
    const conflict = await client.call(`${base}/json`, { method: "POST", body: { a: 1 }, requestId: "r-1" });
    expect(conflict).toMatchObject({ status: 409, body: { code: "X" } });
    expect(seen.at(-1)).toEqual({ method: "POST", id: "r-1", body: '{"a":1}' });
    expect((await client.call(`${base}/text`)).body).toBe("plain");
    expect(await client.call(`${base}/nothing`)).toMatchObject({ status: 404, body: null });
  });

  it("says a peer did not answer: refused, or past the deadline", async () => {
    const client = new HttpClient({ timeoutMs: 100 });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await client.call(`http://127.0.0.1:${port}/x`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PeerUnreachable);
    expect((refused as Error).message).toMatch(/ECONNREFUSED/);
    const slow = await client.call(`${base}/slow`).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(PeerUnreachable);
    expect((slow as Error).message).toBe("no answer before the deadline");
  });

  it("reads an event stream, and returns a refused stream's answer", async () => {
    const client = new HttpClient();
    const opened = await client.stream(`${base}/events`, { signal: new AbortController().signal });
    const events = [];
    for await (const e of opened.events ?? []) events.push(e);
    expect(events).toEqual([
      { id: "1", event: "change", data: '{"a":1}' },
      { id: "2", event: "message", data: "x\ny" },
    ]);
    const refused = await client.stream(`${base}/json`, { signal: new AbortController().signal });
    expect(refused).toMatchObject({ answer: { status: 409, body: { code: "X" } }, events: null });
  });
});
