// Stand-in for xrt::uuid (part of XRT's xrt/xrt_uuid.h).
#pragma once
namespace xrt {
class uuid {
public:
    uuid();
};
}  // namespace xrt
