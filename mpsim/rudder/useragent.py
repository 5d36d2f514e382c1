"""Browser name and version from a user agent, as ua-parser-js 1.0.41 reports them.

RudderStack fills ``$browser``/``$browser_version`` with ua-parser-js 1.0.41. The Python port on
PyPI (``ua-parser-py``) follows 1.0.37 and names several browsers differently (``QQ`` for
``QQBrowser``, ``360 Browser`` without a version for ``360``), so the browser rule table of 1.0.41
is carried here as data. The table is taken from ua-parser-js (MIT licence, (c) Faisal Salman);
only the browser section is needed.

Each entry is ``(patterns, properties)``; the first pattern that matches decides. A property is
``NAME`` or ``VERSION`` (take the capture group), ``(prop, constant)``, ``(prop, regex, replacement)``
(rewrite the capture, once, or everywhere for a ``/g`` rule) or ``(prop, _old_safari)``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

NAME, VERSION = "name", "version"
_G = "g"  # marks a replacement that applies to every match (a JavaScript /g regex)

_OLD_SAFARI = [("1.0", "/8"), ("1.2", "/1"), ("1.3", "/3"), ("2.0", "/412"), ("2.0.2", "/416"),
               ("2.0.3", "/417"), ("2.0.4", "/419"), ("?", "/")]


def _old_safari(match: str) -> str | None:
    low = match.lower()
    for version, token in _OLD_SAFARI:
        if token.lower() in low:
            return None if version == "?" else version
    return match


_RULES: list[tuple[list[str], list[Any]]] = [
    ([r"\b(?:crmo|crios)\/([\w\.]+)"], [VERSION, (NAME, "Chrome")]),
    ([r"edg(?:e|ios|a)?\/([\w\.]+)"], [VERSION, (NAME, "Edge")]),
    ([r"(opera mini)\/([-\w\.]+)", r"(opera [mobiletab]{3,6})\b.+version\/([-\w\.]+)",
      r"(opera)(?:.+version\/|[\/ ]+)([\w\.]+)"], [NAME, VERSION]),
    ([r"opios[\/ ]+([\w\.]+)"], [VERSION, (NAME, "Opera Mini")]),
    ([r"\bop(?:rg)?x\/([\w\.]+)"], [VERSION, (NAME, "Opera GX")]),
    ([r"\bopr\/([\w\.]+)"], [VERSION, (NAME, "Opera")]),
    ([r"\bb[ai]*d(?:uhd|[ub]*[aekoprswx]{5,6})[\/ ]?([\w\.]+)"], [VERSION, (NAME, "Baidu")]),
    ([r"\b(?:mxbrowser|mxios|myie2)\/?([-\w\.]*)\b"], [VERSION, (NAME, "Maxthon")]),
    ([r"(kindle)\/([\w\.]+)", r"(lunascape|maxthon|netfront|jasmine|blazer|sleipnir)[\/ ]?([\w\.]*)",
      r"(avant|iemobile|slim(?:browser|boat|jet))[\/ ]?([\d\.]*)", r"(?:ms|\()(ie) ([\w\.]+)",
      r"(flock|rockmelt|midori|epiphany|silk|skyfire|ovibrowser|bolt|iron|vivaldi|iridium|phantomjs|bowser"
      r"|qupzilla|falkon|rekonq|puffin|brave|whale(?!.+naver)|qqbrowserlite|duckduckgo|klar|helio"
      r"|(?=comodo_)?dragon)\/([-\w\.]+)",
      r"(heytap|ovi|115)browser\/([\d\.]+)", r"(weibo)__([\d\.]+)"], [NAME, VERSION]),
    ([r"quark(?:pc)?\/([-\w\.]+)"], [VERSION, (NAME, "Quark")]),
    ([r"\bddg\/([\w\.]+)"], [VERSION, (NAME, "DuckDuckGo")]),
    ([r"(?:\buc? ?browser|(?:juc.+)ucweb)[\/ ]?([\w\.]+)"], [VERSION, (NAME, "UCBrowser")]),
    ([r"microm.+\bqbcore\/([\w\.]+)", r"\bqbcore\/([\w\.]+).+microm", r"micromessenger\/([\w\.]+)"],
     [VERSION, (NAME, "WeChat")]),
    ([r"konqueror\/([\w\.]+)"], [VERSION, (NAME, "Konqueror")]),
    ([r"trident.+rv[: ]([\w\.]{1,9})\b.+like gecko"], [VERSION, (NAME, "IE")]),
    ([r"ya(?:search)?browser\/([\w\.]+)"], [VERSION, (NAME, "Yandex")]),
    ([r"slbrowser\/([\w\.]+)"], [VERSION, (NAME, "Smart Lenovo Browser")]),
    ([r"(avast|avg)\/([\w\.]+)"], [(NAME, r"(.+)", r"\1 Secure Browser"), VERSION]),
    ([r"\bfocus\/([\w\.]+)"], [VERSION, (NAME, "Firefox Focus")]),
    ([r"\bopt\/([\w\.]+)"], [VERSION, (NAME, "Opera Touch")]),
    ([r"coc_coc\w+\/([\w\.]+)"], [VERSION, (NAME, "Coc Coc")]),
    ([r"dolfin\/([\w\.]+)"], [VERSION, (NAME, "Dolphin")]),
    ([r"coast\/([\w\.]+)"], [VERSION, (NAME, "Opera Coast")]),
    ([r"miuibrowser\/([\w\.]+)"], [VERSION, (NAME, "MIUI Browser")]),
    ([r"fxios\/([\w\.-]+)"], [VERSION, (NAME, "Firefox")]),
    ([r"\bqihoobrowser\/?([\w\.]*)"], [VERSION, (NAME, "360")]),
    ([r"\b(qq)\/([\w\.]+)"], [(NAME, r"(.+)", r"\1Browser"), VERSION]),
    ([r"(oculus|sailfish|huawei|vivo|pico)browser\/([\w\.]+)"], [(NAME, r"(.+)", r"\1 Browser"), VERSION]),
    ([r"samsungbrowser\/([\w\.]+)"], [VERSION, (NAME, "Samsung Internet")]),
    ([r"metasr[\/ ]?([\d\.]+)"], [VERSION, (NAME, "Sogou Explorer")]),
    ([r"(sogou)mo\w+\/([\d\.]+)"], [(NAME, "Sogou Mobile"), VERSION]),
    ([r"(electron)\/([\w\.]+) safari", r"(tesla)(?: qtcarbrowser|\/(20\d\d\.[-\w\.]+))",
      r"m?(qqbrowser|2345(?=browser|chrome|explorer))\w*[\/ ]?v?([\w\.]+)"], [NAME, VERSION]),
    ([r"(lbbrowser|rekonq)", r"\[(linkedin)app\]"], [NAME]),
    ([r"ome\/([\w\.]+) \w* ?(iron) saf", r"ome\/([\w\.]+).+qihu (360)[es]e"], [VERSION, NAME]),
    ([r"((?:fban\/fbios|fb_iab\/fb4a)(?!.+fbav)|;fbav\/([\w\.]+);)"], [(NAME, "Facebook"), VERSION]),
    ([r"(Klarna)\/([\w\.]+)", r"(kakao(?:talk|story))[\/ ]([\w\.]+)", r"(naver)\(.*?(\d+\.[\w\.]+).*\)",
      r"(daum)apps[\/ ]([\w\.]+)", r"safari (line)\/([\w\.]+)", r"\b(line)\/([\w\.]+)\/iab",
      r"(alipay)client\/([\w\.]+)", r"(twitter)(?:and| f.+e\/([\w\.]+))",
      r"(chromium|instagram|snapchat)[\/ ]([-\w\.]+)"], [NAME, VERSION]),
    ([r"\bgsa\/([\w\.]+) .*safari\/"], [VERSION, (NAME, "GSA")]),
    ([r"musical_ly(?:.+app_?version\/|_)([\w\.]+)"], [VERSION, (NAME, "TikTok")]),
    ([r"headlesschrome(?:\/([\w\.]+)| )"], [VERSION, (NAME, "Chrome Headless")]),
    ([r" wv\).+(chrome)\/([\w\.]+)"], [(NAME, "Chrome WebView"), VERSION]),
    ([r"droid.+ version\/([\w\.]+)\b.+(?:mobile safari|safari)"], [VERSION, (NAME, "Android Browser")]),
    ([r"(chrome|omniweb|arora|[tizenoka]{5} ?browser)\/v?([\w\.]+)"], [NAME, VERSION]),
    ([r"version\/([\w\.\,]+) .*mobile\/\w+ (safari)"], [VERSION, (NAME, "Mobile Safari")]),
    ([r"version\/([\w(\.|\,)]+) .*(mobile ?safari|safari)"], [VERSION, NAME]),
    ([r"webkit.+?(mobile ?safari|safari)(\/[\w\.]+)"], [NAME, (VERSION, _old_safari)]),
    ([r"(webkit|khtml)\/([\w\.]+)"], [NAME, VERSION]),
    ([r"(navigator|netscape\d?)\/([-\w\.]+)"], [(NAME, "Netscape"), VERSION]),
    ([r"(wolvic|librewolf)\/([\w\.]+)"], [NAME, VERSION]),
    ([r"mobile vr; rv:([\w\.]+)\).+firefox"], [VERSION, (NAME, "Firefox Reality")]),
    ([r"ekiohf.+(flow)\/([\w\.]+)", r"(swiftfox)",
      r"(icedragon|iceweasel|camino|chimera|fennec|maemo browser|minimo|conkeror)[\/ ]?([\w\.\+]+)",
      r"(seamonkey|k-meleon|icecat|iceape|firebird|phoenix|palemoon|basilisk|waterfox)\/([-\w\.]+)$",
      r"(firefox)\/([\w\.]+)", r"(mozilla)\/([\w\.]+) .+rv\:.+gecko\/\d+",
      r"(amaya|dillo|doris|icab|ladybird|lynx|mosaic|netsurf|obigo|polaris|w3m|(?:go|ice|up)[\. ]?browser)"
      r"[-\/ ]?v?([\w\.]+)",
      r"\b(links) \(([\w\.]+)"], [NAME, (VERSION, r"_", ".", _G)]),
    ([r"(cobalt)\/([\w\.]+)"], [NAME, (VERSION, r"master.|lts.", "")]),
]

_COMPILED = [([re.compile(p, re.IGNORECASE | re.ASCII) for p in patterns], props) for patterns, props in _RULES]
_MAX_LENGTH = 500
_LEADING_SPACE = re.compile(r"^\s\s*")


def _apply(prop: Any, match: str | None) -> tuple[str, Any]:
    if isinstance(prop, str):
        return prop, match or None
    key = prop[0]
    if len(prop) == 2:
        return (key, prop[1](match)) if callable(prop[1]) else (key, prop[1])
    if not match:
        return key, None
    count = 0 if len(prop) == 4 else 1
    return key, re.sub(prop[1], prop[2], match, count=count)


@lru_cache(maxsize=4096)
def parse_browser(user_agent: str) -> tuple[str | None, str | None]:
    """``(name, version)`` of the browser, each ``None`` when not recognised."""
    ua = user_agent
    if len(ua) > _MAX_LENGTH:
        ua = _LEADING_SPACE.sub("", ua)[:_MAX_LENGTH]
    for patterns, props in _COMPILED:
        for pattern in patterns:
            m = pattern.search(ua)
            if m is None:
                continue
            result: dict[str, Any] = {NAME: None, VERSION: None}
            groups = m.groups()
            for k, prop in enumerate(props):
                key, value = _apply(prop, groups[k] if k < len(groups) else None)
                result[key] = value
            return result[NAME], result[VERSION]
    return None, None
