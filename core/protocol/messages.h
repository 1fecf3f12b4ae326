#pragma once

// The protocol bodies generated from sprawl.proto. Include this header rather
// than the generated one so that the generated path stays in one place.
#include "sprawl.pb.h"  // IWYU pragma: export

namespace sprawl::protocol {
namespace pb = ::sprawl::protocol::v1;
}  // namespace sprawl::protocol
