/* C tests of libsafe_tracker against the simulator (SAFE_BASE_URL is set by run.sh).
 * Compiled with -std=c99 -Wall -Wextra -Werror, linked statically and dynamically, and run
 * under valgrind. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "safe_tracker.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    checks++;                                                                        \
    if (!(cond)) {                                                                   \
      failures++;                                                                    \
      fprintf(stderr, "%s:%d: check failed: %s (last error %d: %s)\n", __FILE__,    \
              __LINE__, #cond, (int)safe_last_error_code(),                          \
              safe_last_error_message() ? safe_last_error_message() : "-");          \
    }                                                                                \
  } while (0)

static const char *env(const char *name) {
  const char *v = getenv(name);
  if (!v) {
    fprintf(stderr, "missing %s\n", name);
    exit(2);
  }
  return v;
}

static safe_client *make_org_client(const char *token, uint64_t org) {
  safe_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.base_url = env("SAFE_BASE_URL");
  cfg.token = token;
  cfg.organization_id = org;
  cfg.office_id = org * 100 + 1;
  cfg.requests_per_second = 0; /* loopback simulator: no pacing */
  cfg.max_attempts = 2;
  cfg.options_json = "{\"base_delay_ms\":1,\"max_delay_ms\":2}";
  safe_client *c = NULL;
  CHECK(safe_client_new(&cfg, &c) == SAFE_OK);
  CHECK(c != NULL);
  return c;
}

static safe_client *make_client(const char *token) { return make_org_client(token, 1); }

/* One request to the simulator's admin API (HTTP/1.0 on loopback, next to SAFE_BASE_URL):
 * returns the HTTP status (0 when there was no answer) and copies the body to `body`. */
static int admin_request(const char *method, const char *path, const char *json, char *body,
                         size_t cap) {
  char host[128], port[16];
  if (sscanf(env("SAFE_BASE_URL"), "http://%127[^:]:%15[0-9]", host, port) != 2) return 0;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &res) != 0) return 0;
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return 0;
  }
  freeaddrinfo(res);
  char request[1024];
  int n = snprintf(request, sizeof request,
                   "%s %s HTTP/1.0\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   method, path, host, port, strlen(json), json);
  if (n < 0 || (size_t)n >= sizeof request || write(fd, request, (size_t)n) != n) {
    close(fd);
    return 0;
  }
  char answer[16384];
  size_t len = 0;
  ssize_t got;
  while (len + 1 < sizeof answer && (got = read(fd, answer + len, sizeof answer - 1 - len)) > 0)
    len += (size_t)got;
  close(fd);
  answer[len] = 0;
  int status = 0;
  if (sscanf(answer, "HTTP/%*s %d", &status) != 1) return 0;
  const char *start = strstr(answer, "\r\n\r\n");
  snprintf(body, cap, "%s", start ? start + 4 : "");
  return status;
}

/* The integer after `"name":` in `json` (-1 when absent). */
static long long json_int(const char *json, const char *name) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", name);
  const char *at = json ? strstr(json, pattern) : NULL;
  return at ? strtoll(at + strlen(pattern), NULL, 10) : -1;
}

/* Copies the JSON value after the first `"name":` in `json` (an object or array with its
 * brackets, strings inside it respected; otherwise up to the next `,` or `}`) to `out`.
 * Returns 0 when absent or longer than `cap`. */
static int json_value(const char *json, const char *name, char *out, size_t cap) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", name);
  const char *start = json ? strstr(json, pattern) : NULL;
  if (!start) return 0;
  start += strlen(pattern);
  const char *p = start;
  int depth = 0, in_string = 0;
  for (; *p; p++) {
    if (in_string) {
      if (*p == '\\' && p[1]) p++;
      else if (*p == '"') in_string = 0;
    } else if (*p == '"') {
      in_string = 1;
    } else if (*p == '{' || *p == '[') {
      depth++;
    } else if (*p == '}' || *p == ']') {
      if (depth == 0) break;
      if (--depth == 0) { p++; break; }
    } else if (*p == ',' && depth == 0) {
      break;
    }
  }
  size_t len = (size_t)(p - start);
  if (len + 1 > cap) return 0;
  memcpy(out, start, len);
  out[len] = 0;
  return 1;
}

static void test_invalid_inputs(void) {
  safe_client *sentinel = (safe_client *)0x1;
  CHECK(safe_client_new(NULL, &sentinel) == SAFE_INVALID_ARGUMENT);
  CHECK(sentinel == (safe_client *)0x1); /* out-parameters written only on success */
  CHECK(safe_last_error_code() == SAFE_INVALID_ARGUMENT);
  CHECK(strstr(safe_last_error_message(), "config") != NULL);
  safe_clear_last_error();
  CHECK(safe_last_error_code() == SAFE_OK);
  CHECK(safe_last_error_message() == NULL);

  safe_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.token = NULL;
  CHECK(safe_client_new(&cfg, &sentinel) == SAFE_INVALID_ARGUMENT);
  cfg.token = "t0ken";
  cfg.base_url = "http://safe.example.org/api/";
  cfg.organization_id = 1;
  cfg.office_id = 1;
  cfg.requests_per_second = -1;
  CHECK(safe_client_new(&cfg, &sentinel) == SAFE_INVALID_CONFIG);
  /* A rate that is no spacing of requests is an invalid configuration, not a crash (issue
   * 15: 1e-300 once panicked in the core, which this ABI turned into SAFE_PANIC). */
  cfg.base_url = env("SAFE_BASE_URL");
  const double bad_rates[] = {1e-300, 5e-324, 1e-9, NAN, INFINITY};
  for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++) {
    cfg.requests_per_second = bad_rates[i];
    CHECK(safe_client_new(&cfg, &sentinel) == SAFE_INVALID_CONFIG);
    CHECK(strstr(safe_last_error_message(), "requests_per_second") != NULL);
    CHECK(sentinel == (safe_client *)0x1);
  }
  cfg.requests_per_second = -1;
  cfg.base_url = NULL;
  cfg.options_json = "not json";
  CHECK(safe_client_new(&cfg, &sentinel) == SAFE_INVALID_ARGUMENT);

  safe_client *c = make_client("sim-token-org1");
  char *out = (char *)0x1;
  const char bad_utf8[] = {'i', 't', 'e', 'm', (char)0xff, 0};
  CHECK(safe_client_call(c, bad_utf8, "{}", &out) == SAFE_INVALID_ARGUMENT);
  CHECK(out == (char *)0x1);
  CHECK(safe_client_call(c, NULL, "{}", &out) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_client_call(c, "item", "{}", NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_client_call(c, "no_such_method", "{}", &out) == SAFE_VALIDATION);
  CHECK(safe_item_by_seq(NULL, 1, NULL) == SAFE_INVALID_ARGUMENT);
  safe_item_list *list = (safe_item_list *)0x1;
  CHECK(safe_items_by_seq(NULL, 1, &list) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_items_by_seq(c, 1, NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(strstr(safe_last_error_message(), "out") != NULL);
  CHECK(list == (safe_item_list *)0x1);
  CHECK(safe_item_list_len(NULL) == 0);
  CHECK(safe_item_list_get(NULL, 0) == NULL);
  CHECK(safe_poller_skip(NULL, 1, "reason", NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_last_error_seq() == 0);
  CHECK(safe_last_error_ids(NULL, 0) == 0);
  CHECK(safe_case_create(c, "{not json", &out) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_poller_sweep(NULL, NULL, NULL, NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_cancel_trigger(NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_item_sequential_org_id(NULL) == 0);
  CHECK(safe_item_description(NULL) == NULL);
  /* every _free accepts NULL */
  safe_client_free(NULL);
  safe_item_free(NULL);
  safe_item_list_free(NULL);
  safe_poller_free(NULL);
  safe_cancel_free(NULL);
  safe_string_free(NULL);
  safe_client_free(c);
}

static void test_endpoints(void) {
  safe_client *c = make_client("sim-token-org1");
  safe_item *item = NULL;
  CHECK(safe_item_by_seq(c, 1, &item) == SAFE_OK);
  CHECK(item != NULL);
  CHECK(safe_item_sequential_org_id(item) == 1);
  CHECK(safe_item_id(item) > 0);
  CHECK(safe_item_primary_case_id(item) > 0);
  CHECK(safe_item_description(item) != NULL);
  CHECK(safe_item_primary_case_number(item) != NULL);
  CHECK(strstr(safe_item_json(item), "\"sequentialOrgId\":1") != NULL);
  int64_t id = safe_item_id(item);
  int64_t case_id = safe_item_primary_case_id(item);

  safe_item *again = NULL;
  CHECK(safe_item_get(c, id, &again) == SAFE_OK);
  CHECK(safe_item_sequential_org_id(again) == 1);
  safe_item_free(again);

  safe_item *blank = (safe_item *)0x1;
  CHECK(safe_item_by_seq(c, 100000, &blank) == SAFE_OK);
  CHECK(blank == NULL);

  char *json = NULL;
  CHECK(safe_item_form_data(c, id, &json) == SAFE_OK);
  CHECK(json && strstr(json, "Drug Form Sys Template"));
  safe_string_free(json);
  CHECK(safe_chain_of_custody(c, id, &json) == SAFE_OK);
  safe_string_free(json);
  CHECK(safe_case_get(c, case_id, &json) == SAFE_OK);
  CHECK(strstr(json, "caseNumber") != NULL);
  safe_string_free(json);
  CHECK(safe_case_by_number(c, safe_item_primary_case_number(item), &json) == SAFE_OK);
  safe_string_free(json);
  CHECK(safe_case_people(c, case_id, &json) == SAFE_OK);
  safe_string_free(json);
  CHECK(safe_lookup(c, "races", &json) == SAFE_OK);
  CHECK(strstr(json, "Middle Eastern") != NULL);
  safe_string_free(json);
  CHECK(safe_forms(c, "Items", &json) == SAFE_OK);
  safe_string_free(json);
  CHECK(safe_users_typeahead(c, "Reyes", &json) == SAFE_OK);
  safe_string_free(json);
  CHECK(safe_items_after_seq(c, 18, 10, &json) == SAFE_OK);
  CHECK(strstr(json, "\"sequentialOrgId\":20") != NULL);
  safe_string_free(json);
  CHECK(safe_updated_items(c, "2020-01-01T00:00:00Z", 1, 10, &json) == SAFE_OK);
  safe_string_free(json);
  bool used = true;
  CHECK(safe_email_in_use(c, "nobody@example.org", &used) == SAFE_OK);
  CHECK(!used);
  safe_item_free(item);

  /* validation happens before any request; the server's own checks come back too */
  CHECK(safe_case_create(c, "{\"caseOfficerIds\":[1],\"offenseTypeId\":4,\"active\":true}", &json) == SAFE_VALIDATION);
  CHECK(strstr(safe_last_error_message(), "caseNumber") != NULL);
  CHECK(safe_person_create(c, "{\"person\":{\"firstName\":\"C\",\"lastName\":\"Lang\",\"raceId\":1,\"genderId\":1,\"active\":true}}", &json) == SAFE_OK);
  CHECK(strstr(json, "\"id\"") != NULL);
  safe_string_free(json);

  /* errors: status, HTTP status, message without the token */
  safe_item *missing = NULL;
  CHECK(safe_item_get(c, 1, &missing) == SAFE_NOT_FOUND);
  CHECK(safe_last_error_http_status() == 404);
  safe_client_free(c);

  safe_client *bad = make_client("wrong-token");
  CHECK(safe_item_by_seq(bad, 1, &missing) == SAFE_AUTH);
  CHECK(strstr(safe_last_error_message(), "wrong-token") == NULL);
  safe_client_free(bad);
  safe_client *disabled = make_client("sim-token-org1-disabled");
  CHECK(safe_item_by_seq(disabled, 1, &missing) == SAFE_ACCOUNT_DISABLED);
  safe_client_free(disabled);
  safe_client *nolic = make_client("sim-token-org1-nolicence");
  CHECK(safe_item_by_seq(nolic, 1, &missing) == SAFE_LICENSE_UNAVAILABLE);
  safe_client_free(nolic);
}

struct counter {
  int seen;
  int stop_at;
  int64_t last;
};

static int32_t on_record(void *user_data, const safe_item *item, const char *record_json) {
  struct counter *c = (struct counter *)user_data;
  int64_t seq = safe_item_sequential_org_id(item);
  if (!record_json || !strstr(record_json, "sequential_org_id")) return 7;
  if (c->stop_at && seq == c->stop_at) return 1; /* not acknowledged */
  c->seen++;
  c->last = seq;
  return 0;
}

static void test_poller(const char *dir) {
  safe_client *c = make_client("sim-token-org1");
  char spec[512];
  snprintf(spec, sizeof spec, "{\"kind\":\"file\",\"path\":\"%s/c-checkpoint.json\"}", dir);
  safe_poller *p = NULL;
  CHECK(safe_poller_new(c, "items", spec, "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);
  safe_poller *second = (safe_poller *)0x1;
  CHECK(safe_poller_new(c, "items", spec, "{\"unsafe_min_interval\":0}", &second) == SAFE_CHECKPOINT);
  CHECK(second == (safe_poller *)0x1);

  struct counter k = {0, 5, 0};
  CHECK(safe_poller_sweep(p, on_record, &k, NULL) == SAFE_CONSUMER);
  CHECK(k.seen == 4);
  char *status = NULL;
  CHECK(safe_poller_status(p, &status) == SAFE_OK);
  CHECK(strstr(status, "\"cursor\":5") != NULL);
  safe_string_free(status);

  struct counter all = {0, 0, 0};
  char *report = NULL;
  CHECK(safe_poller_sweep(p, on_record, &all, &report) == SAFE_OK);
  CHECK(all.seen == 16 && all.last == 20);
  CHECK(report && strstr(report, "\"items\":16"));
  safe_string_free(report);
  char *plan = NULL;
  CHECK(safe_poller_plan(p, &plan) == SAFE_OK);
  CHECK(strstr(plan, "\"start_seq\":21") != NULL);
  safe_string_free(plan);
  safe_poller_free(p);
  safe_client_free(c);
}

struct store {
  char *saved;
  int saves, loads;
};

static int32_t load_cb(void *user_data, const char *key, safe_state_sink *sink) {
  struct store *s = (struct store *)user_data;
  (void)key;
  s->loads++;
  if (!s->saved) return 0; /* nothing saved yet */
  /* the library copies the text: this buffer stays the host's, freed by the host */
  char *copy = strdup(s->saved);
  safe_status rc = safe_state_sink_set(sink, copy);
  free(copy);
  return rc == SAFE_OK ? 0 : 1;
}

static int32_t save_cb(void *user_data, const char *key, const char *state_json) {
  struct store *s = (struct store *)user_data;
  (void)key;
  free(s->saved);
  s->saved = strdup(state_json);
  s->saves++;
  return 0;
}

static void test_callback_checkpoint(void) {
  safe_client *c = make_client("sim-token-org1");
  struct store s = {NULL, 0, 0};
  safe_poller *p = NULL;
  CHECK(safe_state_sink_set(NULL, "{}") == SAFE_INVALID_ARGUMENT);
  CHECK(safe_poller_new_with_callbacks(c, "items", load_cb, save_cb, &s, "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);
  CHECK(s.loads == 1);
  struct counter k = {0, 0, 0};
  CHECK(safe_poller_sweep(p, on_record, &k, NULL) == SAFE_OK);
  CHECK(k.seen == 20);
  CHECK(s.saves >= 20);
  CHECK(s.saved && strstr(s.saved, "\"cursor\":21"));
  safe_poller_free(p);
  /* reopened from the saved state: nothing new */
  CHECK(safe_poller_new_with_callbacks(c, "items", load_cb, save_cb, &s, "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);
  CHECK(s.loads == 2);
  struct counter none = {0, 0, 0};
  CHECK(safe_poller_sweep(p, on_record, &none, NULL) == SAFE_OK);
  CHECK(none.seen == 0);
  safe_poller_free(p);
  /* a saved state that is not a checkpoint fails the open, naming the checkpoint */
  free(s.saved);
  s.saved = strdup("not json");
  p = (safe_poller *)0x1;
  CHECK(safe_poller_new_with_callbacks(c, "items", load_cb, save_cb, &s, NULL, &p) == SAFE_CHECKPOINT);
  CHECK(p == (safe_poller *)0x1);
  free(s.saved);
  safe_client_free(c);
}

struct shared {
  pthread_mutex_t lock;
  int seen;
  const safe_cancel *cancel;
};

static int32_t on_shared_record(void *user_data, const safe_item *item, const char *record_json) {
  struct shared *sh = (struct shared *)user_data;
  (void)item;
  (void)record_json;
  pthread_mutex_lock(&sh->lock);
  sh->seen++;
  pthread_mutex_unlock(&sh->lock);
  return 0;
}

/* Waits until the first sweep delivered everything, then cancels from this thread. */
static void *cancel_when_done(void *arg) {
  struct shared *sh = (struct shared *)arg;
  for (;;) {
    pthread_mutex_lock(&sh->lock);
    int seen = sh->seen;
    pthread_mutex_unlock(&sh->lock);
    if (seen >= 20) break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  safe_cancel_trigger(sh->cancel);
  return NULL;
}

static void test_cancel_from_another_thread(void) {
  safe_client *c = make_client("sim-token-org1");
  safe_poller *p = NULL;
  CHECK(safe_poller_new(c, "items", "{\"kind\":\"memory\"}", "{\"unsafe_min_interval\":0,\"interval\":3600}", &p) == SAFE_OK);
  safe_cancel *cancel = NULL;
  CHECK(safe_poller_cancel_handle(p, &cancel) == SAFE_OK);
  struct shared sh;
  pthread_mutex_init(&sh.lock, NULL);
  sh.seen = 0;
  sh.cancel = cancel;
  pthread_t t;
  pthread_create(&t, NULL, cancel_when_done, &sh);
  /* the second sweep would wait an hour: only the cancellation ends the call */
  CHECK(safe_poller_run_forever(p, on_shared_record, &sh) == SAFE_OK);
  pthread_join(t, NULL);
  CHECK(sh.seen == 20);
  pthread_mutex_destroy(&sh.lock);
  safe_cancel_free(cancel);
  safe_poller_free(p);
  safe_client_free(c);
}

/* Freeing a poller releases its lock even while a cancel handle of it is still alive. */
static void test_free_releases_the_lock(void) {
  safe_client *c = make_client("sim-token-org1");
  safe_poller *p = NULL;
  CHECK(safe_poller_new(c, "items", "{\"kind\":\"memory\"}", NULL, &p) == SAFE_OK);
  safe_cancel *cancel = NULL;
  CHECK(safe_poller_cancel_handle(p, &cancel) == SAFE_OK);
  safe_poller_free(p);
  safe_poller *again = NULL;
  CHECK(safe_poller_new(c, "items", "{\"kind\":\"memory\"}", NULL, &again) == SAFE_OK);
  CHECK(safe_cancel_trigger(cancel) == SAFE_OK); /* the freed poller's handle: harmless */
  safe_cancel_free(cancel);
  safe_poller *third = (safe_poller *)0x1;
  CHECK(safe_poller_new(c, "items", "{\"kind\":\"memory\"}", NULL, &third) == SAFE_CHECKPOINT);
  CHECK(third == (safe_poller *)0x1);
  safe_poller_free(again);
  safe_client_free(c);
}

/* One client shared by several threads at once: every call blocks its own thread, one of them
 * drives the shared connections, and each gets its own answers. */
struct reader {
  safe_client *client;
  uint64_t first;
  int ok;
};

static void *read_twenty(void *arg) {
  struct reader *r = arg;
  for (uint64_t seq = r->first; seq < r->first + 20; seq++) {
    safe_item *item = NULL;
    if (safe_item_by_seq(r->client, seq, &item) == SAFE_OK && item != NULL &&
        safe_item_sequential_org_id(item) == (int64_t)seq)
      r->ok++;
    safe_item_free(item);
  }
  return NULL;
}

static void test_shared_client_from_threads(void) {
  safe_client *c = make_client("sim-token-org1");
  pthread_t threads[4];
  struct reader readers[4];
  for (int i = 0; i < 4; i++) {
    readers[i].client = c;
    readers[i].first = 1; /* the simulator here holds 20 items */
    readers[i].ok = 0;
    pthread_create(&threads[i], NULL, read_twenty, &readers[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
    CHECK(readers[i].ok == 20);
  }
  safe_client_free(c);
}

/* A number held by two items (organisation 2, so the other tests keep their 20 numbers):
 * safe_items_by_seq reads both in ascending id order, safe_item_by_seq refuses it. */
static void test_duplicate_number(void) {
  safe_client *c = make_org_client("sim-token-org2", 2);
  char body[4096];
  CHECK(admin_request("POST", "/__admin/orgs/2/items/5/duplicate", "{}", body, sizeof body) == 200);
  long long new_id = json_int(body, "id");
  long long a = 0, b = 0;
  const char *ids = strstr(body, "\"ids\":[");
  CHECK(ids && sscanf(ids, "\"ids\":[%lld,%lld]", &a, &b) == 2);
  CHECK(a > 0 && a < b && (new_id == a || new_id == b));

  safe_item_list *list = NULL;
  CHECK(safe_items_by_seq(c, 5, &list) == SAFE_OK);
  CHECK(list != NULL && safe_item_list_len(list) == 2);
  const safe_item *first = safe_item_list_get(list, 0);
  const safe_item *second = safe_item_list_get(list, 1);
  CHECK(first && second && safe_item_list_get(list, 2) == NULL);
  CHECK(safe_item_id(first) == a && safe_item_id(second) == b); /* ascending id */
  CHECK(safe_item_sequential_org_id(first) == 5 && safe_item_sequential_org_id(second) == 5);
  CHECK(safe_item_description(second) != NULL);
  CHECK(strstr(safe_item_json(second), "\"sequentialOrgId\":5") != NULL);
  safe_item_list_free(list);

  list = NULL;
  CHECK(safe_items_by_seq(c, 1, &list) == SAFE_OK);
  CHECK(safe_item_list_len(list) == 1 && safe_item_sequential_org_id(safe_item_list_get(list, 0)) == 1);
  safe_item_list_free(list);
  list = NULL;
  CHECK(safe_items_by_seq(c, 100000, &list) == SAFE_OK); /* blank: an empty list */
  CHECK(list != NULL && safe_item_list_len(list) == 0 && safe_item_list_get(list, 0) == NULL);
  safe_item_list_free(list);

  safe_item *item = (safe_item *)0x1;
  CHECK(safe_item_by_seq(c, 5, &item) == SAFE_DUPLICATE_NUMBER);
  CHECK(item == (safe_item *)0x1);
  CHECK(safe_last_error_code() == SAFE_DUPLICATE_NUMBER);
  char expected[64];
  snprintf(expected, sizeof expected, "[%lld, %lld]", a, b);
  CHECK(strstr(safe_last_error_message(), "items_by_seq") != NULL);
  CHECK(strstr(safe_last_error_message(), expected) != NULL);
  CHECK(safe_last_error_seq() == 5);
  int64_t got[4] = {0, 0, 0, 0};
  CHECK(safe_last_error_ids(NULL, 0) == 2);
  CHECK(safe_last_error_ids(got, 1) == 2 && got[0] == a && got[1] == 0);
  CHECK(safe_last_error_ids(got, 4) == 2 && got[0] == a && got[1] == b);
  safe_clear_last_error();
  CHECK(safe_last_error_seq() == 0 && safe_last_error_ids(NULL, 0) == 0);
  item = NULL;
  CHECK(safe_item_by_seq(c, 6, &item) == SAFE_OK && safe_item_sequential_org_id(item) == 6);
  safe_item_free(item);
  safe_client_free(c);
}

struct delivery {
  int seen;
  int64_t seqs[64];
  int64_t keys[64];   /* item_id of each record's key */
  int keys_ok;        /* records whose key is {"organization_id":2,"item_id":safe_item_id} */
  int refuse_second_of; /* refuse the second record of this number */
  int at_refused;
  const safe_poller *poller;
  int skip_check_at; /* at this number, try safe_poller_skip while the sweep runs */
  safe_status skip_inside, skip_other_thread, other_thread_last;
};

struct skip_attempt {
  const safe_poller *poller;
  safe_status status, last;
};

static void *skip_from_thread(void *arg) {
  struct skip_attempt *s = arg;
  s->status = safe_poller_skip(s->poller, 21, "while the sweep runs", NULL);
  s->last = safe_last_error_code();
  return NULL;
}

static int32_t on_delivery(void *user_data, const safe_item *item, const char *record_json) {
  struct delivery *d = user_data;
  int64_t seq = safe_item_sequential_org_id(item);
  if (d->refuse_second_of && seq == d->refuse_second_of) {
    if (d->at_refused++ == 1) return 1;
  }
  if (d->skip_check_at && seq == d->skip_check_at) {
    d->skip_inside = safe_poller_skip(d->poller, 21, "from the callback", NULL);
    struct skip_attempt s = {d->poller, SAFE_OK, SAFE_OK};
    pthread_t t;
    pthread_create(&t, NULL, skip_from_thread, &s);
    pthread_join(t, NULL);
    d->skip_other_thread = s.status;
    d->other_thread_last = s.last;
  }
  long long org = 0, item_id = 0;
  const char *key = strstr(record_json, "\"key\":{");
  if (key && sscanf(key, "\"key\":{\"organization_id\":%lld,\"item_id\":%lld}", &org, &item_id) == 2 &&
      org == 2 && item_id == safe_item_id(item) &&
      json_int(record_json, "sequential_org_id") == seq)
    d->keys_ok++;
  if (d->seen < 64) {
    d->seqs[d->seen] = seq;
    d->keys[d->seen] = item_id;
  }
  d->seen++;
  return 0;
}

/* The poller delivers both items of the duplicated number 5 (one record each, distinct keys,
 * ascending id), resumes between them, and skips numbers on request. */
static void test_poller_duplicates_and_skip(void) {
  safe_client *c = make_org_client("sim-token-org2", 2);
  safe_item_list *list = NULL;
  CHECK(safe_items_by_seq(c, 5, &list) == SAFE_OK && safe_item_list_len(list) == 2);
  int64_t a = safe_item_id(safe_item_list_get(list, 0)), b = safe_item_id(safe_item_list_get(list, 1));
  safe_item_list_free(list);

  safe_poller *p = NULL;
  CHECK(safe_poller_new(c, "items", "{\"kind\":\"memory\"}", "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);

  /* refused between the two items of 5: the first stays acknowledged */
  struct delivery d1;
  memset(&d1, 0, sizeof d1);
  d1.refuse_second_of = 5;
  CHECK(safe_poller_sweep(p, on_delivery, &d1, NULL) == SAFE_CONSUMER);
  CHECK(d1.seen == 5 && d1.keys_ok == 5 && d1.seqs[4] == 5 && d1.keys[4] == a);
  char *status = NULL;
  CHECK(safe_poller_status(p, &status) == SAFE_OK);
  char value[2048], expected[128];
  CHECK(json_value(status, "partial", value, sizeof value)); /* a is done, b is not */
  snprintf(expected, sizeof expected, "\"done\":[%lld]", (long long)a);
  CHECK(json_int(value, "seq") == 5 && strstr(value, expected) != NULL);
  CHECK(json_int(status, "cursor") == 5);
  safe_string_free(status);

  /* the next sweep redelivers only the second item of 5, then the rest; skipping while it
   * runs is refused */
  struct delivery d2;
  memset(&d2, 0, sizeof d2);
  d2.poller = p;
  d2.skip_check_at = 10;
  char *report = NULL;
  CHECK(safe_poller_sweep(p, on_delivery, &d2, &report) == SAFE_OK);
  CHECK(d2.seen == 16 && d2.keys_ok == 16);
  CHECK(d2.seqs[0] == 5 && d2.keys[0] == b && d2.keys[0] != d1.keys[4]);
  CHECK(d2.seqs[1] == 6 && d2.seqs[15] == 20);
  CHECK(d2.skip_inside == SAFE_CHECKPOINT);                  /* from the callback: the sweep runs */
  CHECK(d2.skip_other_thread == SAFE_CHECKPOINT && d2.other_thread_last == SAFE_CHECKPOINT);
  CHECK(report && strstr(report, "\"event\":\"duplicate_number\"") != NULL);
  CHECK(json_int(report, "duplicate_numbers") >= 1);
  safe_string_free(report);
  CHECK(safe_poller_status(p, &status) == SAFE_OK);
  CHECK(json_value(status, "partial", value, sizeof value) && strcmp(value, "null") == 0);
  CHECK(json_value(status, "stuck", value, sizeof value) && strcmp(value, "null") == 0);
  CHECK(json_value(status, "skipped", value, sizeof value) && strcmp(value, "[]") == 0);
  CHECK(json_int(status, "cursor") == 21 && json_int(status, "duplicate_numbers") >= 1);
  safe_string_free(status);

  /* skip: only the cursor, a hole or the stuck number, with a reason */
  char *json = (char *)0x1;
  CHECK(safe_poller_skip(p, 3, "operator", &json) == SAFE_VALIDATION);
  CHECK(json == (char *)0x1);
  CHECK(strstr(safe_last_error_message(), "cursor") != NULL);
  CHECK(safe_poller_skip(p, 21, "   ", &json) == SAFE_VALIDATION);
  CHECK(strstr(safe_last_error_message(), "reason") != NULL);
  CHECK(safe_poller_skip(p, 21, NULL, &json) == SAFE_INVALID_ARGUMENT);
  CHECK(json == (char *)0x1);
  CHECK(safe_poller_skip(p, 21, "never filed", &json) == SAFE_OK);
  CHECK(json_int(json, "seq") == 21 && strstr(json, "\"reason\":\"never filed\"") != NULL);
  CHECK(strstr(json, "\"kept_as_hole\":true") != NULL);
  safe_string_free(json);
  CHECK(safe_poller_status(p, &status) == SAFE_OK);
  CHECK(json_int(status, "cursor") == 22);
  CHECK(json_value(status, "skipped", value, sizeof value) && json_int(value, "seq") == 21);
  CHECK(strstr(value, "\"reason\":\"never filed\"") != NULL && strstr(value, "\"at\":") != NULL);
  safe_string_free(status);

  /* 21 and 22 arrive; 22 cannot be decoded: the sweep stops there and says so */
  char body[4096];
  CHECK(admin_request("POST", "/__admin/orgs/2/items", "{\"count\":2}", body, sizeof body) == 200);
  CHECK(strstr(body, "[21,22]") != NULL);
  CHECK(admin_request("POST", "/__admin/faults",
                      "{\"kind\":\"malformed\",\"path_contains\":\"seqOrgID/22\"}", body, sizeof body) == 200);
  struct delivery d3;
  memset(&d3, 0, sizeof d3);
  CHECK(safe_poller_sweep(p, on_delivery, &d3, NULL) == SAFE_DECODE);
  CHECK(d3.seen == 1); /* 21 was skipped while blank: kept as a hole, it arrives late */
  CHECK(safe_poller_status(p, &status) == SAFE_OK);
  CHECK(json_value(status, "stuck", value, sizeof value) && json_int(value, "seq") == 22);
  CHECK(strstr(value, "\"name\":\"Decode\"") != NULL && json_int(value, "code") == 13);
  safe_string_free(status);
  CHECK(safe_poller_skip(p, 22, "cannot be decoded", &json) == SAFE_OK);
  CHECK(json_int(json, "seq") == 22 && strstr(json, "\"error\":") != NULL);
  safe_string_free(json);
  CHECK(admin_request("DELETE", "/__admin/faults", "", body, sizeof body) == 200);
  struct delivery d4;
  memset(&d4, 0, sizeof d4);
  CHECK(safe_poller_sweep(p, on_delivery, &d4, NULL) == SAFE_OK);
  CHECK(d4.seen == 0);
  CHECK(safe_poller_status(p, &status) == SAFE_OK);
  CHECK(json_int(status, "cursor") == 23);
  CHECK(json_value(status, "stuck", value, sizeof value) && strcmp(value, "null") == 0);
  CHECK(json_value(status, "skipped", value, sizeof value));
  CHECK(strstr(value, "\"reason\":\"never filed\"") && strstr(value, "\"reason\":\"cannot be decoded\""));
  safe_string_free(status);
  safe_poller_free(p);

  /* the updated-items stream has no numbers to skip */
  CHECK(safe_poller_new(c, "updated", "{\"kind\":\"memory\"}", "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);
  CHECK(safe_poller_skip(p, 1, "nothing", NULL) == SAFE_VALIDATION);
  safe_poller_free(p);
  safe_client_free(c);
}

/* A decode failure names the request's method and templated path, never its number. */
static void test_decode_errors_name_the_request(void) {
  safe_client *c = make_client("sim-token-org1");
  char body[4096];
  const char *rule = "{\"kind\":\"malformed\",\"path_contains\":\"seqOrgID/3\",\"count\":2}";
  CHECK(admin_request("POST", "/__admin/faults", rule, body, sizeof body) == 200);
  const char *named = "could not decode the answer of GET items/seqOrgID/{n}: ";
  safe_item *item = (safe_item *)0x1;
  CHECK(safe_item_by_seq(c, 3, &item) == SAFE_DECODE);
  CHECK(strncmp(safe_last_error_message(), named, strlen(named)) == 0);
  CHECK(item == (safe_item *)0x1);
  safe_item_list *list = NULL;
  CHECK(safe_items_by_seq(c, 3, &list) == SAFE_DECODE);
  CHECK(strncmp(safe_last_error_message(), named, strlen(named)) == 0);
  CHECK(strstr(safe_last_error_message(), "  ") == NULL);
  CHECK(admin_request("DELETE", "/__admin/faults", "", body, sizeof body) == 200);
  safe_client_free(c);
}

/* A record callback that blocks holds up only its own thread: while it waits for the main
 * thread's signal, another thread's call on the same client completes, and the callback may
 * call the library itself. Causal: nothing is timed but the bound after which it fails. */
struct blocker {
  pthread_mutex_t m;
  pthread_cond_t cv;
  safe_client *client;
  safe_poller *poller;
  int in_callback, released, other_done, other_ok, inner_ok, seen;
  safe_status sweep_status;
};

static int32_t block_in_callback(void *user_data, const safe_item *item, const char *record_json) {
  struct blocker *b = user_data;
  (void)item;
  (void)record_json;
  if (b->seen++ == 0) {
    safe_item *inner = NULL; /* the library, called from inside the callback */
    b->inner_ok = safe_item_by_seq(b->client, 2, &inner) == SAFE_OK && inner &&
                  safe_item_sequential_org_id(inner) == 2;
    safe_item_free(inner);
    pthread_mutex_lock(&b->m);
    b->in_callback = 1;
    pthread_cond_broadcast(&b->cv);
    while (!b->released) pthread_cond_wait(&b->cv, &b->m);
    pthread_mutex_unlock(&b->m);
  }
  return 0;
}

static void *sweep_blocked(void *arg) {
  struct blocker *b = arg;
  b->sweep_status = safe_poller_sweep(b->poller, block_in_callback, b, NULL);
  return NULL;
}

static void *other_call(void *arg) {
  struct blocker *b = arg;
  safe_item *item = NULL;
  int ok = safe_item_by_seq(b->client, 7, &item) == SAFE_OK && item && safe_item_sequential_org_id(item) == 7;
  safe_item_free(item);
  pthread_mutex_lock(&b->m);
  b->other_ok = ok;
  b->other_done = 1;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->m);
  return NULL;
}

static void test_blocked_callback_does_not_stall_other_threads(void) {
  struct blocker b;
  memset(&b, 0, sizeof b);
  pthread_mutex_init(&b.m, NULL);
  pthread_cond_init(&b.cv, NULL);
  b.client = make_client("sim-token-org1");
  CHECK(safe_poller_new(b.client, "items", "{\"kind\":\"memory\"}", "{\"unsafe_min_interval\":0}", &b.poller) == SAFE_OK);
  pthread_t sweeper, other;
  pthread_create(&sweeper, NULL, sweep_blocked, &b);
  pthread_mutex_lock(&b.m);
  while (!b.in_callback) pthread_cond_wait(&b.cv, &b.m);
  pthread_mutex_unlock(&b.m);
  pthread_create(&other, NULL, other_call, &b);
  /* the other call must finish while the callback still blocks; 60 s bounds a failure only */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 60;
  pthread_mutex_lock(&b.m);
  while (!b.other_done) {
    if (pthread_cond_timedwait(&b.cv, &b.m, &until) != 0) break;
  }
  int done_while_blocked = b.other_done;
  b.released = 1;
  pthread_cond_broadcast(&b.cv);
  pthread_mutex_unlock(&b.m);
  pthread_join(other, NULL);
  pthread_join(sweeper, NULL);
  CHECK(done_while_blocked && b.other_ok);
  CHECK(b.inner_ok);
  CHECK(b.sweep_status == SAFE_OK && b.seen == 20);
  safe_poller_free(b.poller);
  safe_client_free(b.client);
  pthread_cond_destroy(&b.cv);
  pthread_mutex_destroy(&b.m);
}

/* The pull-style sweep: next acknowledges the record before, fail leaves it unacknowledged,
 * freeing mid-sweep leaves the current one unacknowledged; a superseded sweep is refused. */
static void test_pulled_sweep(void) {
  safe_client *c = make_org_client("sim-token-org2", 2);
  safe_poller *p = NULL;
  CHECK(safe_poller_new(c, "items", "{\"kind\":\"memory\"}", "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);
  CHECK(safe_poller_queue_events(p) == SAFE_OK);
  safe_sweep *sweep = NULL;
  CHECK(safe_sweep_begin(p, &sweep) == SAFE_OK);
  int seen = 0;
  for (;;) {
    const safe_item *item = NULL;
    char *json = NULL;
    CHECK(safe_sweep_next(sweep, NULL, &item, &json) == SAFE_OK);
    if (json == NULL) {
      CHECK(item == NULL);
      break;
    }
    seen++;
    CHECK(safe_item_sequential_org_id(item) == seen);
    CHECK(strstr(json, "\"key\":{\"organization_id\":2,\"item_id\":") != NULL);
    safe_string_free(json);
    if (seen == 5) {
      /* the fifth record fails: it stays unacknowledged */
      CHECK(safe_sweep_fail(sweep, "the RMS is down") == SAFE_CONSUMER);
      CHECK(strstr(safe_last_error_message(), "the RMS is down") != NULL);
      CHECK(safe_sweep_next(sweep, NULL, NULL, NULL) == SAFE_INVALID_ARGUMENT); /* ended */
      break;
    }
  }
  safe_sweep_free(sweep);
  char *status = NULL;
  CHECK(safe_poller_status(p, &status) == SAFE_OK);
  CHECK(strstr(status, "\"cursor\":5") != NULL);
  safe_string_free(status);
  /* Two records, then freed mid-sweep: the second is unacknowledged and comes again. */
  CHECK(safe_sweep_begin(p, &sweep) == SAFE_OK);
  const safe_item *item = NULL;
  CHECK(safe_sweep_next(sweep, NULL, &item, NULL) == SAFE_OK && safe_item_sequential_org_id(item) == 5);
  CHECK(safe_sweep_next(sweep, NULL, &item, NULL) == SAFE_OK && safe_item_sequential_org_id(item) == 6);
  safe_sweep *newer = NULL;
  CHECK(safe_sweep_begin(p, &newer) == SAFE_OK); /* supersedes the first */
  CHECK(safe_sweep_next(sweep, NULL, &item, NULL) == SAFE_CHECKPOINT);
  safe_sweep_free(sweep);
  CHECK(safe_sweep_next(newer, NULL, &item, NULL) == SAFE_OK && safe_item_sequential_org_id(item) == 6);
  int rest = 1;
  while (safe_sweep_next(newer, NULL, &item, NULL) == SAFE_OK && item != NULL) rest++;
  CHECK(rest == 20 - 5);
  safe_sweep_free(newer);
  char *report = NULL;
  CHECK(safe_poller_last_report(p, &report) == SAFE_OK);
  CHECK(strstr(report, "\"summary\"") != NULL);
  safe_string_free(report);
  char *events = NULL;
  CHECK(safe_poller_take_events(p, &events) == SAFE_OK);
  CHECK(events[0] == '[' && strstr(events, "\"event\":\"sweep_finished\"") != NULL);
  safe_string_free(events);
  CHECK(safe_poller_take_events(p, &events) == SAFE_OK);
  CHECK(strcmp(events, "[]") == 0); /* taken */
  safe_string_free(events);
  /* the core's rules after a sweep */
  bool again = false;
  CHECK(safe_poller_decide(p, SAFE_OK, &again) == SAFE_OK && again);
  CHECK(safe_poller_decide(p, SAFE_SERVER, &again) == SAFE_OK && again);
  CHECK(safe_poller_decide(p, SAFE_AUTH, &again) == SAFE_OK && !again);
  CHECK(safe_poller_decide(p, SAFE_CONSUMER, &again) == SAFE_OK && !again);
  CHECK(safe_poller_decide(p, SAFE_PANIC, &again) == SAFE_OK && !again);
  CHECK(safe_poller_decide(p, SAFE_OK, NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_sweep_next(NULL, NULL, NULL, NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_sweep_begin(NULL, &sweep) == SAFE_INVALID_ARGUMENT);
  safe_sweep_free(NULL);
  safe_poller_free(p);
  safe_client_free(c);
}

struct trigger_later {
  safe_cancel *cancel;
  int delay_ms;
};

static void *trigger_after(void *arg) {
  struct trigger_later *t = arg;
  struct timespec ts = {t->delay_ms / 1000, (long)(t->delay_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  safe_cancel_trigger(t->cancel);
  return NULL;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A call's own cancellation handle gives up a slow request from another thread; the error
 * names the templated path; a validation error names its field. */
static void test_cancellable_calls_and_error_details(void) {
  char body[4096];
  CHECK(admin_request("POST", "/__admin/faults", "{\"kind\":\"slow_headers\",\"latency_ms\":3000,\"count\":1}", body, sizeof body) == 200);
  safe_client *c = make_client("sim-token-org1");
  safe_cancel *cancel = NULL;
  CHECK(safe_cancel_new(&cancel) == SAFE_OK);
  struct trigger_later t = {cancel, 200};
  pthread_t thread;
  pthread_create(&thread, NULL, trigger_after, &t);
  double started = now_seconds();
  char *json = NULL;
  CHECK(safe_client_call_cancellable(c, "item_by_seq", "{\"seq\":1}", cancel, &json) == SAFE_CANCELLED);
  CHECK(now_seconds() - started < 2.5);
  pthread_join(thread, NULL);
  /* a triggered handle stays triggered: the next call with it is refused at once */
  CHECK(safe_client_call_cancellable(c, "item_by_seq", "{\"seq\":1}", cancel, &json) == SAFE_CANCELLED);
  safe_cancel_free(cancel);
  CHECK(admin_request("DELETE", "/__admin/faults", "", body, sizeof body) == 200);
  CHECK(safe_client_call_cancellable(c, "item_by_seq", "{\"seq\":1}", NULL, &json) == SAFE_OK);
  CHECK(strstr(json, "\"sequentialOrgId\":1") != NULL);
  safe_string_free(json);
  CHECK(safe_client_call_cancellable(c, "item", "{\"id\":1}", NULL, &json) == SAFE_NOT_FOUND);
  CHECK(safe_last_error_path() != NULL && strcmp(safe_last_error_path(), "items/{id}") == 0);
  CHECK(safe_last_error_field() == NULL);
  CHECK(safe_client_call(c, "create_case", "{\"case\":{\"caseOfficerIds\":[1],\"offenseTypeId\":4}}", &json) == SAFE_VALIDATION);
  CHECK(safe_last_error_field() != NULL && strcmp(safe_last_error_field(), "caseNumber") == 0);
  CHECK(safe_last_error_path() == NULL); /* refused before any request */
  CHECK(safe_cancel_new(NULL) == SAFE_INVALID_ARGUMENT);
  /* wait_scheduled: the poller's own wait, given up by a call handle */
  safe_poller *p = NULL;
  CHECK(safe_poller_new(c, "items", "{\"kind\":\"memory\"}", "{\"interval\":3600}", &p) == SAFE_OK);
  CHECK(safe_poller_wait_scheduled(p, NULL) == SAFE_OK); /* the first sweep may start at once */
  safe_sweep *sweep = NULL;
  CHECK(safe_sweep_begin(p, &sweep) == SAFE_OK);
  const safe_item *item = NULL;
  while (safe_sweep_next(sweep, NULL, &item, NULL) == SAFE_OK && item != NULL) {
  }
  safe_sweep_free(sweep);
  CHECK(safe_poller_decide(p, SAFE_OK, &(bool){false}) == SAFE_OK);
  CHECK(safe_cancel_new(&cancel) == SAFE_OK);
  t.cancel = cancel;
  pthread_create(&thread, NULL, trigger_after, &t);
  CHECK(safe_poller_wait_scheduled(p, cancel) == SAFE_CANCELLED); /* would wait the floor */
  pthread_join(thread, NULL);
  safe_cancel_free(cancel);
  safe_poller_free(p);
  safe_client_free(c);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  CHECK(strlen(safe_version()) > 0);
  test_invalid_inputs();
  test_endpoints();
  test_decode_errors_name_the_request();
  test_poller(dir);
  test_callback_checkpoint();
  test_cancel_from_another_thread();
  test_free_releases_the_lock();
  test_shared_client_from_threads();
  test_blocked_callback_does_not_stall_other_threads();
  test_pulled_sweep();
  test_cancellable_calls_and_error_details();
  test_duplicate_number();
  test_poller_duplicates_and_skip();
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
