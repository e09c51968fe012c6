"""Bytes of a note → text, or a reason to skip it: never mojibake stored as if it were the note.

Order:

1. A byte-order mark decides: UTF-8, UTF-32 LE/BE (checked before UTF-16: its LE mark starts like UTF-16's),
   UTF-16 LE/BE.
2. NUL bytes: a binary file, skipped. Then valid UTF-8 is UTF-8; many control bytes: binary, skipped.
3. East Asian legacy encodings, each accepted only when the whole file decodes with it AND the text is what
   that encoding's writers write:
   - GB18030 (GBK, GB2312): its Han characters are mostly everyday ones (at least 40 % among the 600 most
     frequent in Chinese writing, about 1,000 from the usual frequency lists plus everyday technical words;
     text of another encoding read as GBK is a jumble of rarer characters, about 15 %); a note with only a few
     Han characters needs 60 %;
   - EUC-KR (CP949): mostly Hangul syllables;
   - Shift_JIS (CP932), EUC-JP: kana present;
   - Big5: mostly Han characters and full-width punctuation.
   The order matters where byte ranges overlap: a GBK note is tried as GBK first (the issue's short
   `[网络虚拟化简介 | 博客园]` line also decodes as EUC-KR, as Hangul-free mojibake).
4. Single-byte Western and Cyrillic encodings (cp1252, cp1251, KOI8-R, ISO-8859-7) through charset-normalizer,
   accepted only when its guess reads as text (letters, little "chaos").
5. Otherwise the note is skipped with the reason and the best guess: saving it as UTF-8 fixes it.

`decode_note` returns (text, encoding, problem): text None when skipped (problem says why); a problem with a
text is a warning (decoded with a legacy encoding)."""

from __future__ import annotations

import unicodedata

__all__ = ["decode_note"]

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_BINARY_CONTROL_RATIO = 0.10
# The most frequent characters of modern written Chinese (simplified), from the usual frequency lists, and
# characters of everyday technical words.
_COMMON_HAN = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家"
    "种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民"
    "第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话"
    "合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神"
    "总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则"
    "听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候"
    "带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵"
    "连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片"
    "史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房"
    "半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批"
    "群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚"
    "独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福"
    "纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修"
    "皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒"
    "岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误"
    "湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损"
    "络博园据库软件系统服务器网站程序代码开发数据云计算模型训练推理存储优化架构设计实现分析管理安全测试部署"
)
_LATIN_ENCODINGS = ["cp1252", "cp1251", "koi8_r", "iso8859_7"]


def _is_han(c: str) -> bool:
    o = ord(c)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def _plausible(encoding: str, text: str) -> bool:
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return False
    han = [c for c in wide if _is_han(c)]
    if encoding == "gb18030":
        if len(han) < 2 or len(han) < 0.6 * len(wide):
            return False
        common = sum(c in _COMMON_HAN for c in han) / len(han)
        return common >= (0.4 if len(han) >= 12 else 0.6)
    if encoding == "cp949":
        hangul = sum(0xAC00 <= ord(c) <= 0xD7A3 for c in wide)
        return hangul >= 2 and hangul >= 0.6 * len(wide)
    if encoding in ("cp932", "euc_jp"):
        kana = sum(0x3040 <= ord(c) <= 0x30FF or 0xFF66 <= ord(c) <= 0xFF9D for c in wide)
        return kana >= 1 and (kana + len(han)) >= 0.6 * len(wide)
    if encoding == "big5":
        punct = sum(0x3000 <= ord(c) <= 0x303F or 0xFF00 <= ord(c) <= 0xFFEF for c in wide)
        return len(han) >= 2 and (len(han) + punct) >= 0.8 * len(wide)
    # single-byte: the non-ASCII characters are letters (accents, Cyrillic, Greek) or common typography
    letters = sum(c.isalpha() or unicodedata.category(c) in ("Pd", "Pi", "Pf", "Po", "Zs", "Sc") for c in wide)
    return letters >= 0.9 * len(wide)


def decode_note(data: bytes) -> tuple[str | None, str | None, str | None]:
    """(text, encoding, problem). text is None when the note is skipped; problem explains a fallback or a skip."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode("utf-8" if codec == "utf-8-sig" else codec, errors="replace")
            if "\ufffd" in text:
                return text, codec, f"byte-order mark says {codec}; some bytes were not valid and were replaced"
            return text, codec, None
    if b"\x00" in data:  # without a BOM, text never holds NUL bytes
        return None, None, "binary file (contains NUL bytes)"
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    if sample and controls / len(sample) > _BINARY_CONTROL_RATIO:
        return None, None, "binary file (control bytes)"
    for encoding in ("gb18030", "cp949", "cp932", "euc_jp", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _plausible(encoding, text):
            return text, encoding, f"not valid UTF-8; decoded as {encoding}"
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_LATIN_ENCODINGS).best()
    if best is not None and best.encoding in _LATIN_ENCODINGS and best.chaos <= 0.2:
        text = data.decode(best.encoding, errors="replace")
        if "\ufffd" not in text and _plausible(best.encoding, text):
            return text, best.encoding, f"not valid UTF-8; decoded as {best.encoding}"
    guess = f" (best guess {best.encoding})" if best is not None else ""
    return None, None, f"not valid UTF-8 and the encoding cannot be told{guess}; save the note as UTF-8"
