/*
 * A Kafka stand-in for the tests: librdkafka's mock cluster (rdkafka_mock.h, Debian librdkafka-dev),
 * driven over stdin. Reference: https://github.com/confluentinc/librdkafka/blob/master/src/rdkafka_mock.h
 *
 *   launcher BROKERS [TOPIC:PARTITIONS ...]     (topics may also be comma-separated in one argument)
 *
 * Prints the bootstrap servers on one line, then reads one command per line and answers one line,
 * "ok[ detail]" or "error <reason>". Exits on EOF (the parent closing stdin, or dying).
 *
 *   topic NAME PARTITIONS [REPLICAS]     create a topic (replicas default to min(3, brokers))
 *   down BROKER | up BROKER              disconnect / accept connections again (-1 = every broker)
 *   rtt BROKER MS                        delay every response of a broker
 *   error APIKEY ERRCODE [COUNT]         the next COUNT requests of APIKEY fail with ERRCODE (cluster wide)
 *   brokererror BROKER APIKEY ERRCODE [COUNT]   same, on one broker only
 *   clear APIKEY                         forget pending errors of APIKEY
 *   leader TOPIC PARTITION BROKER        move a partition's leader (-1 = no leader)
 *   topicerror TOPIC ERRCODE             error returned for the topic in Metadata
 *   coordinator group|transaction KEY BROKER
 *   bootstraps | ping
 *
 * APIKEY is a number or a name (Produce, Fetch, ListOffsets, Metadata, OffsetCommit, OffsetFetch,
 * FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, ApiVersions, …); ERRCODE is a number
 * or a librdkafka error name without its prefix (NOT_LEADER_FOR_PARTITION, _TRANSPORT, …).
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
  const char *name;
  int key;
} API_KEYS[] = {
    {"Produce", 0},        {"Fetch", 1},         {"ListOffsets", 2},    {"Metadata", 3},
    {"OffsetCommit", 8},   {"OffsetFetch", 9},   {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},     {"LeaveGroup", 13},   {"SyncGroup", 14},     {"DescribeGroups", 15},
    {"ListGroups", 16},    {"SaslHandshake", 17}, {"ApiVersions", 18},  {"CreateTopics", 19},
    {"DeleteTopics", 20},  {"DeleteRecords", 21}, {"InitProducerId", 22}, {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26}, {"TxnOffsetCommit", 28},
    {"DescribeConfigs", 32}, {"SaslAuthenticate", 36}, {"OffsetDelete", 47},
};

static int parse_int(const char *s, long *out) {
  char *end;
  if (s == NULL || *s == '\0') return 0;
  errno = 0;
  *out = strtol(s, &end, 10);
  return errno == 0 && *end == '\0';
}

static int parse_api_key(const char *s, int16_t *out) {
  long n;
  if (parse_int(s, &n)) {
    *out = (int16_t)n;
    return 1;
  }
  for (size_t i = 0; s && i < sizeof(API_KEYS) / sizeof(API_KEYS[0]); i++) {
    if (strcasecmp(API_KEYS[i].name, s) == 0) {
      *out = (int16_t)API_KEYS[i].key;
      return 1;
    }
  }
  return 0;
}

static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
  long n;
  const struct rd_kafka_err_desc *descs;
  size_t cnt;
  if (parse_int(s, &n)) {
    *out = (rd_kafka_resp_err_t)n;
    return 1;
  }
  if (s == NULL) return 0;
  if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0) s += 18;
  rd_kafka_get_err_descs(&descs, &cnt);
  for (size_t i = 0; i < cnt; i++) {
    if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
      *out = descs[i].code;
      return 1;
    }
  }
  return 0;
}

static void reply(rd_kafka_resp_err_t err, const char *what) {
  if (err) printf("error %s: %s\n", what, rd_kafka_err2str(err));
  else printf("ok\n");
}

static int create_topics(rd_kafka_mock_cluster_t *mc, char *spec, int replicas) {
  for (char *item = strtok(spec, ","); item; item = strtok(NULL, ",")) {
    char *colon = strrchr(item, ':');
    long parts = 1;
    if (colon) {
      *colon = '\0';
      if (!parse_int(colon + 1, &parts) || parts < 1) {
        fprintf(stderr, "bad topic spec %s:%s (expected NAME:PARTITIONS)\n", item, colon + 1);
        return 0;
      }
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, item, (int)parts, replicas);
    if (err) {
      fprintf(stderr, "creating topic %s: %s\n", item, rd_kafka_err2str(err));
      return 0;
    }
  }
  return 1;
}

/* One command line → one answer line. */
static void run(rd_kafka_mock_cluster_t *mc, int replicas, char *line) {
  char *argv[8] = {0};
  int argc = 0;
  for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n")) argv[argc++] = tok;
  if (argc == 0) {
    printf("error empty command\n");
    return;
  }
  const char *cmd = argv[0];
  long a, b, c;
  int16_t api;
  rd_kafka_resp_err_t code;

  if (!strcmp(cmd, "ping")) {
    printf("ok pong\n");
  } else if (!strcmp(cmd, "bootstraps")) {
    printf("ok %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  } else if (!strcmp(cmd, "topic") && argc >= 3 && parse_int(argv[2], &a) && a > 0) {
    long r = replicas;
    if (argc >= 4 && !parse_int(argv[3], &r)) r = replicas;
    reply(rd_kafka_mock_topic_create(mc, argv[1], (int)a, (int)r), "creating topic");
  } else if ((!strcmp(cmd, "down") || !strcmp(cmd, "up")) && argc >= 2 && parse_int(argv[1], &a)) {
    reply(!strcmp(cmd, "down") ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                               : rd_kafka_mock_broker_set_up(mc, (int32_t)a),
          cmd);
  } else if (!strcmp(cmd, "rtt") && argc >= 3 && parse_int(argv[1], &a) && parse_int(argv[2], &b)) {
    reply(rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b), "setting rtt");
  } else if (!strcmp(cmd, "error") && argc >= 3 && parse_api_key(argv[1], &api) && parse_err(argv[2], &code)) {
    c = 1;
    if (argc >= 4 && (!parse_int(argv[3], &c) || c < 1 || c > 10000)) {
      printf("error bad count %s\n", argv[3]);
      return;
    }
    rd_kafka_resp_err_t *errs = calloc((size_t)c, sizeof(*errs));
    for (long i = 0; i < c; i++) errs[i] = code;
    rd_kafka_mock_push_request_errors_array(mc, api, (size_t)c, errs);
    free(errs);
    printf("ok\n");
  } else if (!strcmp(cmd, "brokererror") && argc >= 4 && parse_int(argv[1], &a) && parse_api_key(argv[2], &api) &&
             parse_err(argv[3], &code)) {
    c = 1;
    if (argc >= 5 && (!parse_int(argv[4], &c) || c < 1)) c = 1;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    /* The va-arg API takes (err, rtt) pairs; push them one by one. */
    for (long i = 0; i < c && !err; i++)
      err = rd_kafka_mock_broker_push_request_error_rtts(mc, (int32_t)a, api, 1, code, 0);
    reply(err, "pushing broker error");
  } else if (!strcmp(cmd, "clear") && argc >= 2 && parse_api_key(argv[1], &api)) {
    rd_kafka_mock_clear_request_errors(mc, api);
    printf("ok\n");
  } else if (!strcmp(cmd, "leader") && argc >= 4 && parse_int(argv[2], &a) && parse_int(argv[3], &b)) {
    reply(rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b), "setting leader");
  } else if (!strcmp(cmd, "topicerror") && argc >= 3 && parse_err(argv[2], &code)) {
    rd_kafka_mock_topic_set_error(mc, argv[1], code);
    printf("ok\n");
  } else if (!strcmp(cmd, "coordinator") && argc >= 4 && parse_int(argv[3], &a)) {
    reply(rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t)a), "setting coordinator");
  } else {
    printf("error unknown or malformed command: %s\n", cmd);
  }
}

int main(int argc, char **argv) {
  long brokers = 3;
  char errstr[512];
  char line[4096];

  if (argc < 2 || !parse_int(argv[1], &brokers) || brokers < 1 || brokers > 64) {
    fprintf(stderr, "usage: %s BROKERS [TOPIC:PARTITIONS ...]\n", argv[0]);
    return 2;
  }
  int replicas = brokers < 3 ? (int)brokers : 3;

  /* The mock cluster needs a client handle for its bookkeeping; it never connects anywhere. */
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "creating client handle: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if (!mc) {
    fprintf(stderr, "creating mock cluster failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    if (!create_topics(mc, argv[i], replicas)) {
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 2;
    }
  }

  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  while (fgets(line, sizeof(line), stdin)) {
    run(mc, replicas, line);
    fflush(stdout);
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
