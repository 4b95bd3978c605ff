"""A readable device name from a User-Agent string ("Chrome 120 on macOS")."""

import ua_parser


def device_name(user_agent: str) -> str:
    if not user_agent:
        return "Unknown device"
    result = ua_parser.parse(user_agent[:512])
    browser = result.user_agent
    name = " ".join(filter(None, [browser.family, browser.major])) if browser else ""
    platform = result.os.family if result.os and result.os.family != "Other" else ""
    if result.device and result.device.family not in ("Other", "Mac", platform):
        platform = f"{result.device.family}, {platform}" if platform else result.device.family
    if name and name != "Other" and platform:
        return f"{name} on {platform}"[:128]
    return (name if name and name != "Other" else platform or "Unknown device")[:128]
