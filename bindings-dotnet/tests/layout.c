/* Prints the C compiler's layout of safe_client_config as JSON, for LayoutTests.cs. */
#include <stddef.h>
#include <stdio.h>
#include "safe_tracker.h"

#define FIELD(f) printf("%s\"%s\":%zu", first ? "" : ",", #f, offsetof(safe_client_config, f)), first = 0
#define SIZE(f) printf("%s\"%s\":%zu", first ? "" : ",", #f, sizeof(((safe_client_config *)0)->f)), first = 0

int main(void) {
  int first = 1;
  printf("{\"size\":%zu,\"offsets\":{", sizeof(safe_client_config));
  FIELD(base_url); FIELD(token); FIELD(organization_id); FIELD(office_id); FIELD(requests_per_second);
  FIELD(max_attempts); FIELD(attempt_timeout_ms); FIELD(ca_file); FIELD(options_json);
  first = 1;
  printf("},\"sizes\":{");
  SIZE(base_url); SIZE(token); SIZE(organization_id); SIZE(office_id); SIZE(requests_per_second);
  SIZE(max_attempts); SIZE(attempt_timeout_ms); SIZE(ca_file); SIZE(options_json);
  printf("}}\n");
  return 0;
}
