/* C workload of `make bench`: the poller through the C ABI. Prints {"items": n, "seconds": s}. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safe_tracker.h"

static int32_t on_record(void *user_data, const safe_item *item, const char *json) {
  (void)item;
  (void)json;
  (*(long *)user_data)++;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *read_ahead = argc > 4 ? argv[4] : "0";
  int expand = argc > 5 && strcmp(argv[5], "expand") == 0;
  safe_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.base_url = argv[2];
  cfg.token = "sim-token-org1";
  cfg.organization_id = 1;
  cfg.office_id = 101;
  cfg.requests_per_second = 0;
  safe_client *client = NULL;
  if (safe_client_new(&cfg, &client) != SAFE_OK) return 1;
  char options[128];
  snprintf(options, sizeof options, "{\"read_ahead\":%s%s}", read_ahead, expand ? ",\"expand\":\"all\"" : "");
  safe_poller *poller = NULL;
  if (safe_poller_new(client, "items", "{\"kind\":\"memory\"}", options, &poller) != SAFE_OK) return 1;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  long n = 0;
  if (safe_poller_sweep(poller, on_record, &n, NULL) != SAFE_OK) return 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("{\"items\": %ld, \"seconds\": %f}\n", n, (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
  safe_poller_free(poller);
  safe_client_free(client);
  return 0;
}
