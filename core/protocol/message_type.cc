#include "core/protocol/message_type.h"

namespace sprawl::protocol {

std::string_view MessageTypeName(uint16_t type) {
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPing:
      return "PING";
    case MessageType::kCreateTopic:
      return "CREATE_TOPIC";
    case MessageType::kDeleteTopic:
      return "DELETE_TOPIC";
    case MessageType::kDescribeTopic:
      return "DESCRIBE_TOPIC";
    case MessageType::kListTopics:
      return "LIST_TOPICS";
    case MessageType::kAlterTopic:
      return "ALTER_TOPIC";
    case MessageType::kMetadata:
      return "METADATA";
    case MessageType::kTransferLeader:
      return "TRANSFER_LEADER";
    case MessageType::kInitProducer:
      return "INIT_PRODUCER";
    case MessageType::kPublish:
      return "PUBLISH";
    case MessageType::kFetch:
      return "FETCH";
    case MessageType::kListOffsets:
      return "LIST_OFFSETS";
    case MessageType::kJoinGroup:
      return "JOIN_GROUP";
    case MessageType::kHeartbeat:
      return "HEARTBEAT";
    case MessageType::kLeaveGroup:
      return "LEAVE_GROUP";
    case MessageType::kSettle:
      return "SETTLE";
    case MessageType::kDeliver:
      return "DELIVER";
    case MessageType::kDescribeGroup:
      return "DESCRIBE_GROUP";
    case MessageType::kListGroups:
      return "LIST_GROUPS";
    case MessageType::kResetGroupOffsets:
      return "RESET_GROUP_OFFSETS";
    case MessageType::kGossip:
      return "GOSSIP";
    case MessageType::kRaft:
      return "RAFT";
    case MessageType::kMetaForward:
      return "META_FORWARD";
    case MessageType::kReplicaRemoved:
      return "REPLICA_REMOVED";
  }
  return "";
}

bool IsPeerMessageType(uint16_t type) {
  return type == static_cast<uint16_t>(MessageType::kGossip) ||
         type == static_cast<uint16_t>(MessageType::kRaft) ||
         type == static_cast<uint16_t>(MessageType::kMetaForward) ||
         type == static_cast<uint16_t>(MessageType::kReplicaRemoved);
}

}  // namespace sprawl::protocol
