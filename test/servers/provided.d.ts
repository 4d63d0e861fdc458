// Values the global setup files in test/servers/*/global.ts hand to the test workers (vitest inject()).
declare module "vitest" {
  export interface ProvidedContext {
    /** Comma-separated bootstrap servers of the shared librdkafka mock cluster. */
    kafkaBootstrap: string;
    /** Loopback HTTP URL that forwards fault and topic commands to the shared mock cluster's stdin. */
    kafkaControlUrl: string;
    /** NameNode base URL of the shared WebHDFS test server, e.g. http://127.0.0.1:34567 */
    webhdfsUrl: string;
    /** Base URL of the shared influxd 1.x, e.g. http://127.0.0.1:34568 */
    influxV1Url: string;
  }
}

export {};
