/* Quickstart: start an embedded Sprawl node, create a topic, publish three
 * messages and read them back as a consumer group, acking each.
 *
 *   cc quickstart.c -lsprawl -o quickstart && ./quickstart
 */
#include <sprawl/sprawl.h>

#include <stdio.h>
#include <string.h>

static int fail(const char* what, sprawl_error_t* err) {
  fprintf(stderr, "%s: %s: %s\n", what, sprawl_error_code_name(err), sprawl_error_message(err));
  sprawl_error_destroy(&err);
  return 1;
}

int main(void) {
  sprawl_error_t* err = NULL;
  sprawl_node_t* node = NULL;
  sprawl_client_t* client = NULL;
  sprawl_consumer_t* consumer = NULL;
  sprawl_config_t* config;
  int i, received = 0;

  /* An in-memory node on free ports. */
  if (sprawl_node_start(NULL, &node, &err) != SPRAWL_OK) return fail("start node", err);
  printf("node at %s (admin %s)\n", sprawl_node_client_address(node),
         sprawl_node_http_address(node));

  config = sprawl_config_new();
  sprawl_config_set(config, "server", sprawl_node_client_address(node), NULL);
  if (sprawl_client_open(config, &client, &err) != SPRAWL_OK) return fail("open client", err);
  sprawl_config_destroy(&config);

  if (sprawl_topic_create(client, "greetings", NULL, NULL, &err) != SPRAWL_OK) {
    return fail("create topic", err);
  }
  for (i = 0; i < 3; ++i) {
    char value[32];
    uint32_t partition;
    uint64_t offset;
    const char* header_names[] = {"lang"};
    const void* header_values[] = {"en"};
    const size_t header_lens[] = {2};
    sprintf(value, "hello #%d", i);
    if (sprawl_publish(client, "greetings", -1, "greeter", 7, value, strlen(value), header_names,
                       header_values, header_lens, 1, 5000, &partition, &offset,
                       &err) != SPRAWL_OK) {
      return fail("publish", err);
    }
    printf("published '%s' at %u@%llu\n", value, partition, (unsigned long long)offset);
  }

  config = sprawl_config_new();
  sprawl_config_set(config, "topic", "greetings", NULL);
  sprawl_config_set(config, "group", "readers", NULL);
  if (sprawl_consumer_open(client, config, &consumer, &err) != SPRAWL_OK) {
    return fail("subscribe", err);
  }
  sprawl_config_destroy(&config);
  while (received < 3) {
    sprawl_message_t* m = NULL;
    const void* data;
    size_t len;
    if (sprawl_consumer_receive(consumer, 5000, &m, &err) != SPRAWL_OK) return fail("receive", err);
    if (m == NULL) break; /* nothing within 5 s */
    sprawl_message_value(m, &data, &len);
    printf("received '%.*s' (delivery %u)\n", (int)len, (const char*)data,
           sprawl_message_delivery_count(m));
    sprawl_consumer_ack(consumer, m, NULL);
    sprawl_message_destroy(&m);
    ++received;
  }
  sprawl_consumer_destroy(&consumer);
  sprawl_client_destroy(&client);
  sprawl_node_destroy(&node);
  return received == 3 ? 0 : 1;
}
