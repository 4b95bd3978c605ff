"""A readable device name from a User-Agent string ("Chrome 120 on macOS", "VODApp 1.2 on iPhone, iOS")."""

import re

import ua_parser

# An app or a tool names itself first ("VODApp/1.2 (iPhone; iOS 17.0)", "curl/8.5.0", "okhttp/4.9");
# ua-parser would name the web view inside the app, or nothing.
_PRODUCT = re.compile(r"^([A-Za-z][A-Za-z0-9._+-]{0,39})(?:/v?([0-9]+(?:\.[0-9]+)?))?")


def device_name(user_agent: str) -> str:
    if not user_agent:
        return "Unknown device"
    result = ua_parser.parse(user_agent[:512])
    product = None if user_agent.startswith("Mozilla/") else _PRODUCT.match(user_agent)
    if product:
        name = " ".join(filter(None, [product[1], product[2]]))
    else:
        browser = result.user_agent
        name = " ".join(filter(None, [browser.family, browser.major])) if browser else ""
    platform = result.os.family if result.os and result.os.family != "Other" else ""
    if product and "(" not in user_agent:  # a bare "tool/1.0" says nothing about its machine
        platform = ""
    elif result.device and result.device.family not in ("Other", "Mac", platform):
        platform = f"{result.device.family}, {platform}" if platform else result.device.family
    if name and name != "Other" and platform:
        return f"{name} on {platform}"[:128]
    return (name if name and name != "Other" else platform or "Unknown device")[:128]
