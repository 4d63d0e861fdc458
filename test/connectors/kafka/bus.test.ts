import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createKafkaBus } from "../../../connectors/kafka/bus.ts";
import { kafkaBusSchema } from "../../../connectors/kafka/config.ts";
import { busContract } from "../../contracts/bus.ts";
import { kafkaControl } from "../../servers/kafka/mock-cluster.ts";

busContract("kafka (librdkafka mock cluster)", async () => {
  const topic = `contract-${randomUUID()}`;
  await kafkaControl(inject("kafkaControlUrl"), `topic ${topic} 3`);
  const config = kafkaBusSchema.parse({
    type: "kafka",
    brokers: inject("kafkaBootstrap").split(","),
    // The mock makes a group whose last member left wait session timeout - 1 s before the next join.
    sessionTimeout: "6s",
  });
  const bus = createKafkaBus(config, silentContext());
  return { bus, topic, cleanup: () => bus.close() };
});
