// Minimal stand-in for XRT's <xrt/xrt_device.h> (XRT 2.16 native C++ API), declarations only,
// so the exported host program can be compiled (not run) on a machine without XRT.
// Signatures follow XRT's public headers: xrt::device(unsigned int), load_xclbin(std::string).
#pragma once
#include <string>
#include "xrt_uuid_stub.h"
namespace xrt {
class device {
public:
    explicit device(unsigned int index);
    uuid load_xclbin(const std::string& xclbin_fnm);
};
}  // namespace xrt
