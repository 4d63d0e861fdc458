/**
 * vitest global setup: one shared librdkafka mock cluster (3 brokers) for the whole run, and a loopback
 * HTTP endpoint so test workers can send it commands (POST a command line, get the answer as text;
 * 200 for "ok …", 409 for "error …"). Tests that take brokers down start a private cluster instead.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { startKafkaMock } from "./mock-cluster.ts";

export default async function setup(project: TestProject) {
  const mock = await startKafkaMock({ brokers: 3 });
  const server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405).end("POST a command line\n");
      return;
    }
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      mock.command(body.trim()).then(
        (answer) => res.writeHead(200, { "content-type": "text/plain" }).end(answer),
        (err: Error) => res.writeHead(409, { "content-type": "text/plain" }).end(err.message),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  project.provide("kafkaBootstrap", mock.bootstrap.join(","));
  project.provide("kafkaControlUrl", `http://127.0.0.1:${port}/`);

  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await mock.close();
  };
}
