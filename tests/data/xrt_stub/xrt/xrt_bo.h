// Minimal stand-in for XRT's <xrt/xrt_bo.h>: xrt::bo(device, size, memory_group), write/read/sync.
#pragma once
#include <cstddef>
#include <cstdint>
#include "xrt_device.h"
enum xclBOSyncDirection { XCL_BO_SYNC_BO_TO_DEVICE = 0, XCL_BO_SYNC_BO_FROM_DEVICE = 1 };
namespace xrt {
using memory_group = uint32_t;
class bo {
public:
    bo(const device& dev, size_t size, memory_group grp);
    void write(const void* src, size_t size, size_t seek);
    void read(void* dst, size_t size, size_t skip);
    void sync(xclBOSyncDirection dir);
};
}  // namespace xrt
