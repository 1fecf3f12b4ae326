#include "core/node/http_api.h"

#include "core/node/cluster.h"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include <boost/beast/core/detail/base64.hpp>

#include "core/admin/builtin_routes.h"
#include "core/admin/static_assets.h"
#include "core/client/message.h"
#include "core/protocol/json.h"
#include "core/protocol/partitioner.h"
#include "core/storage/record_batch.h"
#include "core/util/clock.h"
#include "core/util/logging.h"

namespace sprawl::node {
namespace {

using admin::ErrorResponse;
using admin::HttpRequest;
using admin::HttpResponse;
using admin::JsonResponse;
using admin::Responder;
using nlohmann::json;
namespace pb = protocol::pb;

constexpr uint32_t kRestSessionTimeoutMs = 30'000;
constexpr uint32_t kMaxRestWaitMs = 30'000;
constexpr size_t kMaxRestMessages = 1000;
// Browsing by offset: messages per answer by default and at most, and the
// bytes one read may take from the log.
constexpr uint64_t kDefaultBrowseMessages = 50;
constexpr uint64_t kMaxBrowseMessages = 500;
constexpr uint32_t kBrowseFetchBytes = 1u << 20;

// Browsed keys, values and header values are bytes, not necessarily UTF-8:
// base64 carries them exactly (the console decodes them as text, JSON or hex).
std::string Base64(std::string_view bytes) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

json BrowsedMessageJson(const client::Message& m) {
  json headers = json::array();
  for (const auto& [name, value] : m.headers) {
    headers.push_back({{"name", name}, {"value_base64", Base64(value)}});
  }
  return {{"offset", m.offset},
          {"timestamp_ms", m.timestamp_ms},
          {"key_base64", m.key ? json(Base64(*m.key)) : json(nullptr)},
          {"value_base64", Base64(m.value)},
          {"headers", headers}};
}

Result<json> ParseJson(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("the request body is not valid JSON");
  return parsed;
}

Result<uint64_t> QueryNumber(const HttpRequest& request, const std::string& name,
                             uint64_t fallback) {
  auto it = request.query.find(name);
  if (it == request.query.end() || it->second.empty()) return fallback;
  if (it->second.find_first_not_of("0123456789") != std::string::npos || it->second.size() > 18) {
    return InvalidArgument("query parameter '" + name + "' must be a whole number");
  }
  return std::stoull(it->second);
}

// INVALID_ARGUMENT naming the first field of `body` not in `known`, so a
// setting in the wrong place (`partitions` beside `config` rather than in
// it) is refused instead of silently taking its default.
Status CheckFields(const json& body, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return InvalidArgument("unknown field '" + key +
                             "' (topic settings such as partitions go in 'config')");
    }
  }
  return Status::Ok();
}

}  // namespace

// The network partition a test injects: the node keeps its client and HTTP
// ports but hears from and reaches no peer (Raft, gossip, forwarded
// metadata), which a SIGKILL or SIGSTOP cannot show: a leader that still
// answers its clients. A hook in the peer transport rather than iptables or
// network namespaces: it needs no privilege and no package, cuts exactly
// the peer port on a loopback cluster, and heals at once.
void HttpApi::InstallFaultRoutes(admin::Router& router) {
  // `cut_off`: cut (POST), heal (DELETE) or only tell (GET, nullopt).
  auto route = [this](std::optional<bool> cut_off) {
    return [this, cut_off](HttpRequest, Responder respond) {
      if (!fault_injection_) {
        return respond(ErrorResponse(
            NotFound("fault injection is off (sprawl-server --fault-injection, for tests only)")));
      }
      OnLoop(std::move(respond), [this, cut_off](Responder respond) {
        if (cut_off && *cut_off != cluster_->cut_off()) {
          log::Warn(*cut_off ? "fault injected: cut off from every peer"
                             : "fault healed: peers reachable again");
          cluster_->SetCutOff(*cut_off);
        }
        respond(JsonResponse({{"cut_off", cluster_->cut_off()}}));
      });
    };
  };
  router.Add("GET", "/v1/faults/partition", route(std::nullopt));
  router.Add("POST", "/v1/faults/partition", route(true));
  router.Add("DELETE", "/v1/faults/partition", route(false));
}

void HttpApi::OnLoop(Responder respond, std::function<void(Responder)> fn) {
  loop_.Post(
      [respond = std::move(respond), fn = std::move(fn)]() mutable { fn(std::move(respond)); });
}

admin::Router HttpApi::Routes() {
  admin::Router router;
  admin::InstallHealthRoutes(router, [this] {
    return ready_ ? Status::Ok() : Status(ErrorCode::kClosed, "the node is starting or stopping");
  });
  admin::InstallMetricsRoute(router, registry_);
  if (!console_.empty()) admin::InstallStaticRoutes(router, "/ui", console_);
  router.Add("GET", "/v1/cluster", [this](HttpRequest, Responder respond) {
    OnLoop(std::move(respond),
           [this](Responder respond) { respond(JsonResponse(cluster_->MembersJson())); });
  });
  router.Add("GET", "/v1/placement", [this](HttpRequest, Responder respond) {
    OnLoop(std::move(respond), [this](Responder respond) {
      respond(JsonResponse(
          cluster_->PlacementJson(ListTopicPartitions(broker_), kPlacementReplication)));
    });
  });
  InstallFaultRoutes(router);
  router.Add("GET", "/v1/meta", [this](HttpRequest, Responder respond) {
    if (meta_ == nullptr) {
      return respond(ErrorResponse(NotFound("this node has no metadata group")));
    }
    OnLoop(std::move(respond),
           [this](Responder respond) { respond(JsonResponse(meta_->StatusJson())); });
  });
  router.Add("GET", "/v1/topics", [this](HttpRequest, Responder respond) {
    OnLoop(std::move(respond), [this](Responder respond) {
      json topics = json::array();
      const pb::ListTopicsResponse listed = broker_.ListTopics();
      for (pb::TopicDescription t : listed.topics()) {
        if (meta_) meta_->Decorate(&t);
        topics.push_back(protocol::ToJson(t));
      }
      respond(JsonResponse({{"topics", topics}}));
    });
  });
  router.Add("POST", "/v1/topics", [this](HttpRequest request, Responder respond) {
    auto body = ParseJson(request.body);
    if (!body.ok()) return respond(ErrorResponse(body.status()));
    if (!body->is_object() || !body->contains("name") || !(*body)["name"].is_string()) {
      return respond(ErrorResponse(InvalidArgument("the body needs a string field 'name'")));
    }
    Status fields = CheckFields(*body, {"name", "config"});
    if (!fields.ok()) return respond(ErrorResponse(fields));
    auto config = protocol::TopicConfigFromJson(body->value("config", json()));
    if (!config.ok()) return respond(ErrorResponse(config.status()));
    pb::CreateTopicRequest create;
    create.set_name((*body)["name"].get<std::string>());
    *create.mutable_config() = *config;
    OnLoop(std::move(respond), [this, create](Responder respond) {
      auto done = [respond](Result<pb::TopicDescription> created) {
        respond(created.ok() ? JsonResponse(protocol::ToJson(*created), 201)
                             : ErrorResponse(created.status()));
      };
      meta_ ? meta_->CreateTopic(create, done) : broker_.CreateTopic(create, done);
    });
  });
  router.Add("GET", "/v1/topics/{topic}", [this](HttpRequest request, Responder respond) {
    pb::DescribeTopicRequest describe;
    describe.set_name(request.params["topic"]);
    OnLoop(std::move(respond), [this, describe](Responder respond) {
      auto d = broker_.DescribeTopic(describe);
      if (d.ok() && meta_) meta_->Decorate(&*d);
      respond(d.ok() ? JsonResponse(protocol::ToJson(*d)) : ErrorResponse(d.status()));
    });
  });
  router.Add("PATCH", "/v1/topics/{topic}", [this](HttpRequest request, Responder respond) {
    auto body = ParseJson(request.body);
    if (!body.ok()) return respond(ErrorResponse(body.status()));
    if (!body->is_object()) {
      return respond(ErrorResponse(InvalidArgument("the body must be a JSON object")));
    }
    // Either {"config": {...}} or the settings themselves at the top level.
    if (body->contains("config")) {
      Status fields = CheckFields(*body, {"config"});
      if (!fields.ok()) return respond(ErrorResponse(fields));
    }
    auto config = protocol::TopicConfigFromJson(body->value("config", *body));
    if (!config.ok()) return respond(ErrorResponse(config.status()));
    pb::AlterTopicRequest alter;
    alter.set_name(request.params["topic"]);
    *alter.mutable_config() = *config;
    OnLoop(std::move(respond), [this, alter](Responder respond) {
      auto done = [respond](Result<pb::TopicDescription> d) {
        respond(d.ok() ? JsonResponse(protocol::ToJson(*d)) : ErrorResponse(d.status()));
      };
      meta_ ? meta_->AlterTopic(alter, done) : broker_.AlterTopic(alter, done);
    });
  });
  router.Add("DELETE", "/v1/topics/{topic}", [this](HttpRequest request, Responder respond) {
    pb::DeleteTopicRequest del;
    del.set_name(request.params["topic"]);
    OnLoop(std::move(respond), [this, del](Responder respond) {
      auto done = [respond, name = del.name()](Status s) {
        respond(s.ok() ? JsonResponse({{"deleted", name}}) : ErrorResponse(s));
      };
      meta_ ? meta_->DeleteTopic(del, done) : broker_.DeleteTopic(del, done);
    });
  });
  router.Add("GET", "/v1/topics/{topic}/partitions",
             [this](HttpRequest request, Responder respond) {
               const std::string topic = request.params["topic"];
               OnLoop(std::move(respond), [this, topic](Responder respond) {
                 pb::DescribeTopicRequest describe;
                 describe.set_name(topic);
                 auto d = broker_.DescribeTopic(describe);
                 if (!d.ok()) return respond(ErrorResponse(d.status()));
                 if (meta_) meta_->Decorate(&*d);
                 pb::ListGroupsRequest list;
                 list.set_topic(topic);
                 json out = protocol::ToJson(*d);
                 json lag = json::array();
                 const pb::ListGroupsResponse groups = broker_.ListGroups(list);
                 for (const auto& g : groups.groups()) {
                   json per = json::array();
                   for (const auto& p : g.partitions()) {
                     per.push_back({{"partition", p.partition()}, {"lag", p.lag()}});
                   }
                   lag.push_back({{"group", g.group()}, {"partitions", per}});
                 }
                 respond(JsonResponse(
                     {{"topic", topic}, {"partitions", out["partitions"]}, {"group_lag", lag}}));
               });
             });
  router.Add("GET", "/v1/topics/{topic}/partitions/{partition}/messages",
             [this](HttpRequest request, Responder respond) {
               Browse(std::move(request), std::move(respond));
             });
  router.Add("GET", "/v1/groups", [this](HttpRequest request, Responder respond) {
    pb::ListGroupsRequest list;
    list.set_topic(request.query["topic"]);
    OnLoop(std::move(respond), [this, list](Responder respond) {
      json groups = json::array();
      const pb::ListGroupsResponse listed = broker_.ListGroups(list);
      for (const auto& g : listed.groups()) groups.push_back(protocol::ToJson(g));
      respond(JsonResponse({{"groups", groups}}));
    });
  });
  router.Add("GET", "/v1/topics/{topic}/groups/{group}",
             [this](HttpRequest request, Responder respond) {
               pb::DescribeGroupRequest describe;
               describe.set_topic(request.params["topic"]);
               describe.set_group(request.params["group"]);
               OnLoop(std::move(respond), [this, describe](Responder respond) {
                 auto d = broker_.DescribeGroup(describe);
                 respond(d.ok() ? JsonResponse(protocol::ToJson(*d)) : ErrorResponse(d.status()));
               });
             });
  router.Add("POST", "/v1/topics/{topic}/messages", [this](HttpRequest request, Responder respond) {
    Publish(std::move(request), std::move(respond));
  });
  router.Add("GET", "/v1/topics/{topic}/groups/{group}/messages",
             [this](HttpRequest request, Responder respond) {
               Consume(std::move(request), std::move(respond));
             });
  router.Add("POST", "/v1/topics/{topic}/groups/{group}/acks",
             [this](HttpRequest request, Responder respond) {
               Settle(std::move(request), std::move(respond));
             });
  router.Add("POST", "/v1/topics/{topic}/groups/{group}/reset",
             [this](HttpRequest request, Responder respond) {
               ResetGroup(std::move(request), std::move(respond));
             });
  return router;
}

// GET .../partitions/{partition}/messages?offset=<o>&max=<n>: the committed
// messages from offset o (default: the partition's first retained one), at
// most n, read without a group: nothing is delivered, acked or changed.
void HttpApi::Browse(HttpRequest request, Responder respond) {
  const std::string& partition_text = request.params["partition"];
  if (partition_text.find_first_not_of("0123456789") != std::string::npos ||
      partition_text.size() > 9) {
    return respond(ErrorResponse(InvalidArgument("the partition must be a whole number")));
  }
  auto max = QueryNumber(request, "max", kDefaultBrowseMessages);
  if (!max.ok()) return respond(ErrorResponse(max.status()));
  std::optional<uint64_t> offset;
  if (!request.query["offset"].empty()) {
    auto o = QueryNumber(request, "offset", 0);
    if (!o.ok()) return respond(ErrorResponse(o.status()));
    offset = *o;
  }
  pb::FetchRequest fetch;
  fetch.set_topic(request.params["topic"]);
  fetch.set_partition(static_cast<uint32_t>(std::stoul(partition_text)));
  fetch.set_max_bytes(kBrowseFetchBytes);
  fetch.set_max_wait_ms(0);
  const size_t take = std::clamp<uint64_t>(*max, 1, kMaxBrowseMessages);
  OnLoop(std::move(respond), [this, fetch, offset, take](const Responder& respond) mutable {
    if (offset) {
      fetch.set_offset(*offset);
    } else {
      pb::ListOffsetsRequest earliest;
      earliest.set_topic(fetch.topic());
      earliest.set_partition(fetch.partition());
      earliest.set_spec(pb::OFFSET_EARLIEST);
      auto first = broker_.ListOffsets(earliest);
      if (!first.ok()) return respond(ErrorResponse(first.status()));
      fetch.set_offset(first->offset());
    }
    broker_.Fetch(fetch, [fetch, take, respond](Result<broker::FetchReply> r) {
      if (!r.ok()) return respond(ErrorResponse(r.status()));
      json messages = json::array();
      uint64_t next = fetch.offset();
      for (const storage::BatchBytes& batch : r->batches) {
        if (messages.size() >= take) break;
        auto decoded =
            client::DecodeBatch(fetch.topic(), fetch.partition(), *batch, fetch.offset());
        if (!decoded.ok()) return respond(ErrorResponse(decoded.status()));
        for (const client::Message& m : *decoded) {
          if (messages.size() >= take) break;
          messages.push_back(BrowsedMessageJson(m));
          next = m.offset + 1;
        }
      }
      respond(JsonResponse({{"topic", fetch.topic()},
                            {"partition", fetch.partition()},
                            {"offset", fetch.offset()},
                            {"next_offset", next},
                            {"first_offset", r->response.first_offset()},
                            {"high_watermark", r->response.high_watermark()},
                            {"messages", messages}}));
    });
  });
}

// Body: {"to": "earliest"|"latest"} or {"offset": n} or {"timestamp_ms": n}:
// moves every partition's cursor of the group there (ResetGroupOffsets, as
// sprawlctl does over the client protocol); answers the group.
void HttpApi::ResetGroup(HttpRequest request, Responder respond) {
  auto body = ParseJson(request.body);
  if (!body.ok()) return respond(ErrorResponse(body.status()));
  if (!body->is_object() || body->size() != 1) {
    return respond(ErrorResponse(InvalidArgument(
        "the body needs exactly one of 'to' (earliest or latest), 'offset' or 'timestamp_ms'")));
  }
  pb::ResetGroupOffsetsRequest reset;
  reset.set_topic(request.params["topic"]);
  reset.set_group(request.params["group"]);
  if (body->contains("to")) {
    const json& to = (*body)["to"];
    if (to == "earliest") {
      reset.set_spec(pb::OFFSET_EARLIEST);
    } else if (to == "latest") {
      reset.set_spec(pb::OFFSET_LATEST);
    } else {
      return respond(ErrorResponse(InvalidArgument("'to' must be earliest or latest")));
    }
  } else if (body->contains("offset")) {
    if (!(*body)["offset"].is_number_unsigned()) {
      return respond(ErrorResponse(InvalidArgument("'offset' must be a whole number")));
    }
    reset.set_spec(pb::OFFSET_EXACT);
    reset.set_offset((*body)["offset"].get<uint64_t>());
  } else if (body->contains("timestamp_ms")) {
    if (!(*body)["timestamp_ms"].is_number_integer()) {
      return respond(ErrorResponse(InvalidArgument("'timestamp_ms' must be a whole number")));
    }
    reset.set_spec(pb::OFFSET_TIMESTAMP);
    reset.set_timestamp_ms((*body)["timestamp_ms"].get<int64_t>());
  } else {
    return respond(ErrorResponse(InvalidArgument(
        "the body needs exactly one of 'to' (earliest or latest), 'offset' or 'timestamp_ms'")));
  }
  OnLoop(std::move(respond), [this, reset](const Responder& respond) {
    auto group = broker_.ResetGroupOffsets(reset);
    respond(group.ok() ? JsonResponse(protocol::ToJson(*group)) : ErrorResponse(group.status()));
  });
}

// Body: {"messages": [{"value": "...", "key": "...", "headers": {...},
// "partition": n}], "acks": "none"|"leader"|"all"}. Keyed messages go to
// their key's partition, the others round robin.
void HttpApi::Publish(HttpRequest request, Responder respond) {
  auto body = ParseJson(request.body);
  if (!body.ok()) return respond(ErrorResponse(body.status()));
  if (!body->is_object() || !body->contains("messages") || !(*body)["messages"].is_array() ||
      (*body)["messages"].empty()) {
    return respond(ErrorResponse(InvalidArgument("the body needs a non-empty array 'messages'")));
  }
  // `all` unless asked: the default of every client (docs/configuration.md).
  const std::string acks = body->value("acks", std::string("all"));
  if (acks != "none" && acks != "leader" && acks != "all") {
    return respond(ErrorResponse(InvalidArgument("acks must be none, leader or all")));
  }
  json messages = (*body)["messages"];
  const std::string topic = request.params["topic"];
  OnLoop(std::move(respond), [this, messages, topic, acks](Responder respond) {
    auto described = broker_.topics().Find(topic);
    if (!described.ok()) return respond(ErrorResponse(described.status()));
    const uint32_t partitions = (*described)->config.partitions;
    // Build one batch per partition, remembering each message's place.
    std::map<uint32_t, storage::RecordBatchBuilder> builders;
    std::vector<std::pair<uint32_t, uint32_t>> place;  // (partition, index in batch)
    std::map<uint32_t, uint32_t> counts;
    const int64_t now = SystemClock::Instance().WallMillis();
    for (const json& m : messages) {
      if (!m.is_object() || !m.contains("value") || !m["value"].is_string()) {
        return respond(ErrorResponse(InvalidArgument("each message needs a string 'value'")));
      }
      std::optional<std::string> key;
      if (m.contains("key") && !m["key"].is_null()) {
        if (!m["key"].is_string())
          return respond(ErrorResponse(InvalidArgument("'key' must be a string")));
        key = m["key"].get<std::string>();
      }
      uint32_t p = 0;
      if (m.contains("partition")) {
        if (!m["partition"].is_number_unsigned()) {
          return respond(ErrorResponse(InvalidArgument("'partition' must be a whole number")));
        }
        p = m["partition"].get<uint32_t>();
      } else if (key && !key->empty()) {
        p = protocol::PartitionForKey(*key, partitions);
      } else {
        p = static_cast<uint32_t>(round_robin_++ % partitions);
      }
      std::vector<std::pair<std::string, std::string>> header_values;
      if (m.contains("headers")) {
        if (!m["headers"].is_object())
          return respond(ErrorResponse(InvalidArgument("'headers' must be an object of strings")));
        for (const auto& [k, v] : m["headers"].items()) {
          if (!v.is_string())
            return respond(ErrorResponse(InvalidArgument("header '" + k + "' must be a string")));
          header_values.emplace_back(k, v.get<std::string>());
        }
      }
      storage::RecordInput input;
      const std::string value = m["value"].get<std::string>();
      if (key) input.key = *key;
      input.value = value;
      input.timestamp_ms = now;
      for (const auto& [k, v] : header_values) input.headers.push_back({k, v});
      builders[p].Add(input);
      place.emplace_back(p, counts[p]++);
    }
    pb::PublishRequest publish;
    publish.set_topic(topic);
    publish.set_acks(acks == "none" ? pb::ACK_NONE : acks == "all" ? pb::ACK_ALL : pb::ACK_LEADER);
    std::vector<std::string> batches;
    std::map<uint32_t, int> batch_index;
    for (auto& [p, builder] : builders) {
      auto built = builder.Build();
      if (!built.ok()) return respond(ErrorResponse(built.status()));
      batch_index[p] = static_cast<int>(batches.size());
      publish.add_batches()->set_partition(p);
      batches.push_back(std::move(*built));
    }
    broker_.Publish(
        publish, std::move(batches),
        [respond, place, batch_index, acks](Result<pb::PublishResponse> r) {
          if (!r.ok()) return respond(ErrorResponse(r.status()));
          json results = json::array();
          for (const auto& [p, i] : place) {
            const pb::PublishResult& res = r->results(batch_index.at(p));
            if (res.has_error()) {
              const pb::Error& e = res.error();
              results.push_back({{"partition", p},
                                 {"error",
                                  {{"code", ErrorCodeName(static_cast<ErrorCode>(e.code()))},
                                   {"code_number", e.code()},
                                   {"message", e.message()},
                                   {"retriable", e.retriable()}}}});
            } else if (acks == "none") {
              results.push_back({{"partition", p}});
            } else {
              results.push_back({{"partition", p}, {"offset", res.base_offset() + i}});
            }
          }
          respond(JsonResponse({{"results", results}}));
        });
  });
}

// GET .../messages?member=<id>&max=<n>&wait_ms=<ms>: joins (or renews) a
// REST member and long-polls its deliveries. The first call omits member.
void HttpApi::Consume(HttpRequest request, Responder respond) {
  auto max = QueryNumber(request, "max", 100);
  auto wait = QueryNumber(request, "wait_ms", 1000);
  if (!max.ok()) return respond(ErrorResponse(max.status()));
  if (!wait.ok()) return respond(ErrorResponse(wait.status()));
  pb::JoinGroupRequest join;
  join.set_topic(request.params["topic"]);
  join.set_group(request.params["group"]);
  join.set_member_id(request.query["member"]);
  join.set_session_timeout_ms(kRestSessionTimeoutMs);
  join.set_max_in_flight(static_cast<uint32_t>(std::clamp<uint64_t>(*max, 1, kMaxRestMessages)));
  join.set_client_name("http");
  const size_t take = std::clamp<uint64_t>(*max, 1, kMaxRestMessages);
  const int64_t wait_ms = std::min<uint64_t>(*wait, kMaxRestWaitMs);
  OnLoop(std::move(respond), [this, join, take, wait_ms](Responder respond) mutable {
    std::string member = join.member_id();
    // A known member heartbeats; an unknown one (new, or its session
    // expired) joins and gets its id back.
    pb::HeartbeatRequest beat;
    beat.set_topic(join.topic());
    beat.set_group(join.group());
    beat.set_member_id(member);
    bool joined =
        !member.empty() &&
        broker_.Heartbeat(beat, std::string(RestMembers::kConnectionPrefix) + member).ok();
    auto poll = [this, take, wait_ms, respond](const std::string& member) {
      const int64_t deadline = SystemClock::Instance().MonotonicNanos() + wait_ms * 1'000'000;
      rest_.Poll(member, take, deadline, [respond, member](std::vector<client::Message> messages) {
        json out = json::array();
        for (const auto& m : messages) out.push_back(client::MessageToJson(m));
        respond(JsonResponse({{"member", member}, {"messages", out}}));
      });
    };
    if (joined) return poll(member);
    // The connection is named after the member, whose id the join assigns:
    // join with the bare prefix, then renew under the full name.
    broker_.JoinGroup(join, std::string(RestMembers::kConnectionPrefix),
                      [this, beat, respond, poll](Result<pb::JoinGroupResponse> j) mutable {
                        if (!j.ok()) return respond(ErrorResponse(j.status()));
                        beat.set_member_id(j->member_id());
                        (void)broker_.Heartbeat(
                            beat, std::string(RestMembers::kConnectionPrefix) + j->member_id());
                        poll(j->member_id());
                      });
  });
}

// Body: {"member": "...", "acks": [{"partition": p, "offset": o}], "nacks": [...],
// "nack_delay_ms": n}.
void HttpApi::Settle(HttpRequest request, Responder respond) {
  auto body = ParseJson(request.body);
  if (!body.ok()) return respond(ErrorResponse(body.status()));
  if (!body->is_object() || !body->contains("member") || !(*body)["member"].is_string()) {
    return respond(ErrorResponse(InvalidArgument("the body needs a string field 'member'")));
  }
  pb::SettleRequest settle;
  settle.set_topic(request.params["topic"]);
  settle.set_group(request.params["group"]);
  settle.set_member_id((*body)["member"].get<std::string>());
  for (const char* field : {"acks", "nacks"}) {
    if (!body->contains(field)) continue;
    if (!(*body)[field].is_array()) {
      return respond(
          ErrorResponse(InvalidArgument(std::string("'") + field + "' must be an array")));
    }
    for (const json& e : (*body)[field]) {
      if (!e.is_object() || !e.contains("partition") || !e.contains("offset") ||
          !e["partition"].is_number_unsigned() || !e["offset"].is_number_unsigned()) {
        return respond(ErrorResponse(
            InvalidArgument("each ack or nack needs whole numbers 'partition' and 'offset'")));
      }
      auto* entry = std::string(field) == "acks" ? settle.add_acks() : settle.add_nacks();
      entry->set_partition(e["partition"].get<uint32_t>());
      entry->set_offset(e["offset"].get<uint64_t>());
    }
  }
  if (body->contains("nack_delay_ms")) {
    if (!(*body)["nack_delay_ms"].is_number_unsigned()) {
      return respond(ErrorResponse(InvalidArgument("'nack_delay_ms' must be a whole number")));
    }
    settle.set_nack_delay_ms((*body)["nack_delay_ms"].get<uint32_t>());
  }
  OnLoop(std::move(respond), [this, settle](Responder respond) {
    auto r = broker_.Settle(settle);
    respond(r.ok() ? JsonResponse({{"settled", settle.acks_size() + settle.nacks_size() -
                                                   static_cast<int>(r->unknown())},
                                   {"unknown", r->unknown()}})
                   : ErrorResponse(r.status()));
  });
}

}  // namespace sprawl::node
