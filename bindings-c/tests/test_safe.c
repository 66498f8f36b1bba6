/* C tests of libsafe_tracker against the simulator (SAFE_BASE_URL is set by run.sh).
 * Compiled with -std=c99 -Wall -Wextra -Werror, linked statically and dynamically, and run
 * under valgrind. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static safe_client *make_client(const char *token) {
  safe_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.base_url = env("SAFE_BASE_URL");
  cfg.token = token;
  cfg.organization_id = 1;
  cfg.office_id = 101;
  cfg.requests_per_second = 0; /* loopback simulator: no pacing */
  cfg.max_attempts = 2;
  cfg.options_json = "{\"base_delay_ms\":1,\"max_delay_ms\":2}";
  safe_client *c = NULL;
  CHECK(safe_client_new(&cfg, &c) == SAFE_OK);
  CHECK(c != NULL);
  return c;
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
  CHECK(safe_case_create(c, "{not json", &out) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_poller_sweep(NULL, NULL, NULL, NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_cancel_trigger(NULL) == SAFE_INVALID_ARGUMENT);
  CHECK(safe_item_sequential_org_id(NULL) == 0);
  CHECK(safe_item_description(NULL) == NULL);
  /* every _free accepts NULL */
  safe_client_free(NULL);
  safe_item_free(NULL);
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
  int saves;
};

static int32_t load_cb(void *user_data, const char *key, char **out) {
  struct store *s = (struct store *)user_data;
  (void)key;
  *out = s->saved ? strdup(s->saved) : NULL;
  return 0;
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
  struct store s = {NULL, 0};
  safe_poller *p = NULL;
  CHECK(safe_poller_new_with_callbacks(c, "items", load_cb, save_cb, &s, "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);
  struct counter k = {0, 0, 0};
  CHECK(safe_poller_sweep(p, on_record, &k, NULL) == SAFE_OK);
  CHECK(k.seen == 20);
  CHECK(s.saves >= 20);
  CHECK(s.saved && strstr(s.saved, "\"cursor\":21"));
  safe_poller_free(p);
  /* reopened from the saved state: nothing new */
  CHECK(safe_poller_new_with_callbacks(c, "items", load_cb, save_cb, &s, "{\"unsafe_min_interval\":0}", &p) == SAFE_OK);
  struct counter none = {0, 0, 0};
  CHECK(safe_poller_sweep(p, on_record, &none, NULL) == SAFE_OK);
  CHECK(none.seen == 0);
  safe_poller_free(p);
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

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  CHECK(strlen(safe_version()) > 0);
  test_invalid_inputs();
  test_endpoints();
  test_poller(dir);
  test_callback_checkpoint();
  test_cancel_from_another_thread();
  test_shared_client_from_threads();
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
