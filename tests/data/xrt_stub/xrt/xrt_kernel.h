// Minimal stand-in for XRT's <xrt/xrt_kernel.h>: xrt::kernel(device, uuid, name), group_id, operator(),
// xrt::run::wait().
#pragma once
#include <string>
#include "xrt_bo.h"
#include "xrt_device.h"
namespace xrt {
class run {
public:
    int wait();
};
class kernel {
public:
    kernel(const device& dev, const uuid& xclbin_id, const std::string& name);
    int group_id(int argno) const;
    template <typename... Args>
    run operator()(Args&&... args);
};
}  // namespace xrt
