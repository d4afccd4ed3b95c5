"""The invented county that ``xlsxflow init`` writes as its default roster.

Names are made up; e-mail domains end in ``.invalid`` (RFC 2606) so that no message of a
trial run can ever reach a real mailbox.
"""

from __future__ import annotations

from xlsxflow.roster import Committee, Leader, Roster

_DOMAIN = "dangjian-demo.invalid"

_TOWNSHIPS = [
    "莲溪镇",
    "青岚镇",
    "柳塘镇",
    "桂山乡",
    "石埠镇",
    "云岭乡",
    "东湖镇",
    "白沙镇",
    "龙泉乡",
    "枫林镇",
    "杏坛乡",
    "荷塘镇",
    "清溪镇",
    "梅岗乡",
    "双港镇",
    "金湾乡",
    "松岭镇",
    "新桥乡",
]
_ZONES = ["城南经济开发区", "银湖新区"]
_ORGANS = [
    "县直机关工委",
    "县教育体育局",
    "县卫生健康委员会",
    "县公安局",
    "县财政局",
    "县农业农村局",
    "县住房和城乡建设局",
    "县市场监督管理局",
    "县交通运输局",
    "县国有资产管理局",
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
_GIVEN = [
    "建华",
    "秀英",
    "志强",
    "丽娟",
    "国平",
    "海燕",
    "文斌",
    "晓红",
    "振宇",
    "春梅",
    "立新",
    "桂兰",
    "明辉",
    "红霞",
    "永刚",
    "玉兰",
    "德胜",
    "慧敏",
    "卫东",
    "凤英",
]


def _person(i: int) -> str:
    return _SURNAMES[(i * 7) % len(_SURNAMES)] + _GIVEN[(i * 3) % len(_GIVEN)]


def _phone(i: int) -> str:
    return f"13{(i * 37) % 10}{(79100000 + i * 7919) % 100000000:08d}"


def sample_roster(committees: int | None = None) -> Roster:
    """The default county, or ``committees`` committees for larger trial runs."""
    base: list[tuple[str, str, str]] = []
    base += [(f"T{i + 1:02d}", f"{n}党委", "township") for i, n in enumerate(_TOWNSHIPS)]
    base += [(f"Z{i + 1:02d}", f"{n}党工委", "zone") for i, n in enumerate(_ZONES)]
    base += [(f"O{i + 1:02d}", f"{n}党委", "organ") for i, n in enumerate(_ORGANS)]
    count = len(base) if committees is None else committees
    rows = list(base[:count])
    for i in range(len(rows), count):
        rows.append((f"X{i + 1:05d}", f"第{i + 1}基层党委", "organ"))
    leaders_in_charge = ["张卫东", "李慧敏", "陈志强"]
    result = [
        Committee(
            code=code,
            name=name,
            kind=kind,
            contact=_person(i),
            phone=_phone(i),
            email=f"{code.lower()}@{_DOMAIN}",
            leader=leaders_in_charge[i % len(leaders_in_charge)],
        )
        for i, (code, name, kind) in enumerate(rows)
    ]
    leaders = [
        Leader(name="张卫东", title="县委常委、组织部部长", email=f"buzhang@{_DOMAIN}"),
        Leader(name="李慧敏", title="县委组织部常务副部长", email=f"fubuzhang@{_DOMAIN}"),
        Leader(name="陈志强", title="县委组织部组织科科长", email=f"zuzhike@{_DOMAIN}"),
    ]
    return Roster(committees=tuple(result), leaders=tuple(leaders))
