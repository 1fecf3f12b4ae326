/* The C side of the interoperability test (test_interop.py):
 *   interop produce ADDRESS TOPIC LANG   publishes the shared message set
 *   interop consume ADDRESS TOPIC        prints each message as one line:
 *     offset key-hex|- value-hex header-name=value-hex... (names sorted) */
#include <sprawl/sprawl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT 20

static void hex(const void* data, size_t len) {
  const unsigned char* p = (const unsigned char*)data;
  size_t i;
  for (i = 0; i < len; ++i) printf("%02x", p[i]);
}

static int fail(const char* what, sprawl_error_t* err) {
  fprintf(stderr, "%s: %s\n", what, sprawl_error_message(err));
  sprawl_error_destroy(&err);
  return 1;
}

int main(int argc, char** argv) {
  sprawl_error_t* err = NULL;
  sprawl_client_t* client = NULL;
  sprawl_config_t* config = sprawl_config_new();
  int i;
  if (argc < 4) return 2;
  sprawl_config_set(config, "server", argv[2], NULL);
  if (sprawl_client_open(config, &client, &err) != SPRAWL_OK) return fail("open", err);
  sprawl_config_destroy(&config);
  if (strcmp(argv[1], "produce") == 0 && argc == 5) {
    for (i = 0; i < COUNT; ++i) {
      /* The shared set: key "key-<i>" except every fifth message, value
       * bytes i, 0, 255, i*7 mod 256 then "v<i>", headers lang and idx. */
      unsigned char value[32];
      char key[16], text[16], idx[16];
      const char* names[] = {"lang", "idx"};
      const void* values[2];
      size_t lens[2];
      size_t n;
      value[0] = (unsigned char)i;
      value[1] = 0;
      value[2] = 255;
      value[3] = (unsigned char)(i * 7 % 256);
      sprintf(text, "v%d", i);
      memcpy(value + 4, text, strlen(text));
      n = 4 + strlen(text);
      sprintf(key, "key-%d", i);
      sprintf(idx, "%d", i);
      values[0] = argv[4];
      lens[0] = strlen(argv[4]);
      values[1] = idx;
      lens[1] = strlen(idx);
      if (sprawl_publish(client, argv[3], 0, i % 5 == 0 ? NULL : key, i % 5 == 0 ? 0 : strlen(key),
                         value, n, names, values, lens, 2, 30000, NULL, NULL, &err) != SPRAWL_OK) {
        return fail("publish", err);
      }
    }
  } else if (strcmp(argv[1], "consume") == 0) {
    sprawl_consumer_t* consumer = NULL;
    config = sprawl_config_new();
    sprawl_config_set(config, "topic", argv[3], NULL);
    sprawl_config_set(config, "start", "earliest", NULL);
    if (sprawl_consumer_open(client, config, &consumer, &err) != SPRAWL_OK)
      return fail("open", err);
    sprawl_config_destroy(&config);
    for (i = 0; i < COUNT; ++i) {
      sprawl_message_t* m = NULL;
      const void* data;
      size_t len, h, count;
      const char* names[8];
      const void* hvalues[8];
      size_t hlens[8];
      size_t order[8];
      if (sprawl_consumer_receive(consumer, 10000, &m, &err) != SPRAWL_OK)
        return fail("receive", err);
      if (m == NULL) return fail("receive", NULL);
      printf("%llu ", (unsigned long long)sprawl_message_offset(m));
      if (sprawl_message_key(m, &data, &len)) {
        hex(data, len);
      } else {
        printf("-");
      }
      printf(" ");
      sprawl_message_value(m, &data, &len);
      hex(data, len);
      count = sprawl_message_header_count(m);
      if (count > 8) count = 8;
      for (h = 0; h < count; ++h) {
        sprawl_message_header(m, h, &names[h], &hvalues[h], &hlens[h]);
        order[h] = h;
      }
      /* Names sorted, so every language prints the same line. */
      for (h = 1; h < count; ++h) {
        size_t j = h;
        while (j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0) {
          size_t t = order[j];
          order[j] = order[j - 1];
          order[j - 1] = t;
          --j;
        }
      }
      for (h = 0; h < count; ++h) {
        printf(" %s=", names[order[h]]);
        hex(hvalues[order[h]], hlens[order[h]]);
      }
      printf("\n");
      sprawl_message_destroy(&m);
    }
    sprawl_consumer_destroy(&consumer);
  } else {
    return 2;
  }
  sprawl_client_destroy(&client);
  return 0;
}
