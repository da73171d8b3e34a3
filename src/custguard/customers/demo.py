"""A deterministic demo registry: realistic Chinese B2B customers, their contacts and customer
groups, written through the registry services so codes, standing rows and audit entries are real.

`plan_registry` is pure (no database, no clock): the same seed, region table and number of
account managers always give the same plan. `build_registry_demo` writes the plan.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext

from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.models import User
from custguard.customers import services
from custguard.customers.models import (
    Customer,
    CustomerGroup,
    CustomerKind,
    CustomerStatus,
    Industry,
    Region,
    ScaleBand,
    ValueTier,
)

# --- word lists -----------------------------------------------------------------------------

KIND_WEIGHTS = {CustomerKind.ENTERPRISE: 65, CustomerKind.DEALER: 25,
                CustomerKind.INDIVIDUAL: 10}

# Industry section -> (weight for enterprises, words that go between 字号 and the legal form).
INDUSTRY_WORDS: dict[str, tuple[int, tuple[str, ...]]] = {
    Industry.AGRICULTURE: (3, ("农业科技", "生态农业", "农牧", "种业", "水产养殖")),
    Industry.MINING: (1, ("矿业", "石材", "矿产品")),
    Industry.MANUFACTURING: (38, (
        "精密机械", "电子科技", "新材料", "汽车零部件", "包装制品", "化工", "纺织", "食品",
        "医疗器械", "电气", "五金制品", "塑胶", "家具", "光电科技", "服饰", "模具", "制药",
        "机电设备", "阀门", "轴承", "钢结构", "环保设备", "智能装备", "电缆")),
    Industry.UTILITIES: (2, ("能源", "燃气", "新能源", "水务", "热力")),
    Industry.CONSTRUCTION: (8, ("建设工程", "建筑装饰", "路桥工程", "机电安装工程", "市政工程")),
    Industry.TRADE: (12, ("商贸", "贸易", "供应链", "五金机电", "建材", "医药", "电器",
                          "进出口")),
    Industry.LOGISTICS: (7, ("物流", "运输", "仓储", "供应链管理", "快运")),
    Industry.HOSPITALITY: (3, ("餐饮管理", "酒店管理", "餐饮")),
    Industry.IT: (7, ("信息技术", "软件", "网络科技", "数据科技", "智能科技")),
    Industry.FINANCE: (1, ("融资担保", "投资管理")),
    Industry.REAL_ESTATE: (3, ("置业", "房地产开发", "物业服务")),
    Industry.LEASING: (5, ("企业管理咨询", "人力资源", "广告", "会展服务", "设备租赁")),
    Industry.RESEARCH: (5, ("检测技术", "工程设计", "环境科技", "生物科技")),
    Industry.ENVIRONMENT: (2, ("环保工程", "园林绿化", "水处理")),
    Industry.HOUSEHOLD: (1, ("家政服务", "设备维修", "汽车维修")),
    Industry.EDUCATION: (1, ("教育科技", "职业技能培训")),
    Industry.HEALTH: (2, ("医疗管理", "健康管理", "医院管理")),
    Industry.CULTURE: (1, ("文化传媒", "体育发展", "影视文化")),
    Industry.PUBLIC: (0, ()),
}
DEALER_WORDS = {
    Industry.TRADE: ("商贸", "贸易", "五金机电", "建材", "电器", "机电设备", "汽配", "化工原料",
                     "劳保用品", "日用百货"),
    Industry.LOGISTICS: ("物流", "货运", "货运代理"),
}
SHOP_WORDS = ("五金", "建材", "电器", "劳保用品", "日杂", "汽配", "粮油", "水暖")  # 经营部, 商行
DEALER_INDUSTRIES = {Industry.TRADE: 90, Industry.LOGISTICS: 10}
INDIVIDUAL_INDUSTRIES = {Industry.TRADE: 60, Industry.HOUSEHOLD: 15, Industry.HOSPITALITY: 15,
                         Industry.AGRICULTURE: 10}
ENTERPRISE_FORMS = {"有限公司": 75, "股份有限公司": 13, "有限责任公司": 12}
DEALER_FORMS = {"有限公司": 70, "经营部": 18, "商行": 12}

SCALE_WEIGHTS = {
    CustomerKind.ENTERPRISE: {ScaleBand.MICRO: 10, ScaleBand.SMALL: 40, ScaleBand.MEDIUM: 35,
                              ScaleBand.LARGE: 15},
    CustomerKind.DEALER: {ScaleBand.MICRO: 25, ScaleBand.SMALL: 55, ScaleBand.MEDIUM: 18,
                          ScaleBand.LARGE: 2},
    CustomerKind.INDIVIDUAL: {ScaleBand.MICRO: 85, ScaleBand.SMALL: 15},
}
TIER_WEIGHTS = {  # by scale band: strategic few, potential many
    ScaleBand.LARGE: {ValueTier.STRATEGIC: 22, ValueTier.IMPORTANT: 45, ValueTier.GENERAL: 28,
                      ValueTier.POTENTIAL: 5},
    ScaleBand.MEDIUM: {ValueTier.STRATEGIC: 3, ValueTier.IMPORTANT: 30, ValueTier.GENERAL: 42,
                       ValueTier.POTENTIAL: 25},
    ScaleBand.SMALL: {ValueTier.STRATEGIC: 0, ValueTier.IMPORTANT: 8, ValueTier.GENERAL: 40,
                      ValueTier.POTENTIAL: 52},
    ScaleBand.MICRO: {ValueTier.STRATEGIC: 0, ValueTier.IMPORTANT: 2, ValueTier.GENERAL: 30,
                      ValueTier.POTENTIAL: 68},
}
STATUS_WEIGHTS = {CustomerStatus.ACTIVE: 78, CustomerStatus.PROSPECT: 9,
                  CustomerStatus.DORMANT: 9, CustomerStatus.CLOSED: 4}

# 字号 (trade names) are two of these characters; the first is sometimes the province's
# abbreviation (蜀信, 浙恒, 粤华 …).
TRADE_CHARS: dict[str, str] = {
    "恒": "heng", "宏": "hong", "金": "jin", "华": "hua", "鑫": "xin", "永": "yong",
    "瑞": "rui", "德": "de", "天": "tian", "博": "bo", "嘉": "jia", "盛": "sheng", "信": "xin",
    "佳": "jia", "汇": "hui", "通": "tong", "利": "li", "安": "an", "富": "fu", "兴": "xing",
    "隆": "long", "昌": "chang", "达": "da", "源": "yuan", "丰": "feng", "泰": "tai", "和": "he",
    "润": "run", "明": "ming", "诚": "cheng", "远": "yuan", "凯": "kai", "海": "hai",
    "昊": "hao", "宇": "yu", "锦": "jin", "正": "zheng", "茂": "mao", "联": "lian",
    "创": "chuang", "力": "li", "新": "xin", "元": "yuan", "辰": "chen", "鼎": "ding",
    "弘": "hong", "俊": "jun", "晟": "sheng", "捷": "jie", "腾": "teng", "翔": "xiang",
    "威": "wei", "振": "zhen", "亿": "yi", "祥": "xiang", "耀": "yao", "启": "qi", "航": "hang",
    "峰": "feng", "邦": "bang", "宝": "bao", "万": "wan", "福": "fu", "卓": "zhuo",
}
PROVINCE_ABBR: dict[str, tuple[str, str]] = {
    "11": ("京", "jing"), "12": ("津", "jin"), "13": ("冀", "ji"), "14": ("晋", "jin"),
    "15": ("蒙", "meng"), "21": ("辽", "liao"), "22": ("吉", "ji"), "23": ("龙", "long"),
    "31": ("沪", "hu"), "32": ("苏", "su"), "33": ("浙", "zhe"), "34": ("皖", "wan"),
    "35": ("闽", "min"), "36": ("赣", "gan"), "37": ("鲁", "lu"), "41": ("豫", "yu"),
    "42": ("楚", "chu"), "43": ("湘", "xiang"), "44": ("粤", "yue"), "45": ("桂", "gui"),
    "46": ("琼", "qiong"), "50": ("渝", "yu"), "51": ("蜀", "shu"), "52": ("黔", "qian"),
    "53": ("滇", "dian"), "54": ("藏", "zang"), "61": ("秦", "qin"), "62": ("陇", "long"),
    "63": ("青", "qing"), "64": ("宁", "ning"), "65": ("新", "xin"),
}

SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "wang", 72), ("李", "li", 72), ("张", "zhang", 68), ("刘", "liu", 54),
    ("陈", "chen", 46), ("杨", "yang", 34), ("黄", "huang", 25), ("赵", "zhao", 22),
    ("吴", "wu", 21), ("周", "zhou", 20), ("徐", "xu", 15), ("孙", "sun", 14), ("马", "ma", 13),
    ("朱", "zhu", 12), ("胡", "hu", 11), ("郭", "guo", 11), ("何", "he", 10), ("高", "gao", 10),
    ("林", "lin", 10), ("罗", "luo", 9), ("郑", "zheng", 9), ("梁", "liang", 8),
    ("谢", "xie", 7), ("宋", "song", 6), ("唐", "tang", 6), ("许", "xu", 6), ("韩", "han", 5),
    ("冯", "feng", 5), ("邓", "deng", 5), ("曹", "cao", 5), ("彭", "peng", 5),
    ("曾", "zeng", 5), ("肖", "xiao", 5), ("田", "tian", 4), ("董", "dong", 4),
    ("袁", "yuan", 4), ("潘", "pan", 4), ("蒋", "jiang", 4), ("蔡", "cai", 4), ("余", "yu", 4),
    ("杜", "du", 4), ("叶", "ye", 4), ("程", "cheng", 4), ("苏", "su", 3), ("魏", "wei", 3),
    ("吕", "lv", 3), ("丁", "ding", 3), ("任", "ren", 3), ("沈", "shen", 3), ("姚", "yao", 3),
    ("卢", "lu", 3), ("钟", "zhong", 3), ("汪", "wang", 3), ("陆", "lu", 2), ("范", "fan", 2),
    ("方", "fang", 2), ("金", "jin", 2), ("石", "shi", 2), ("廖", "liao", 2), ("贾", "jia", 2),
    ("夏", "xia", 2), ("韦", "wei", 2), ("邹", "zou", 2), ("熊", "xiong", 2), ("孟", "meng", 2),
    ("秦", "qin", 2), ("江", "jiang", 2), ("邱", "qiu", 2), ("薛", "xue", 2), ("雷", "lei", 2),
    ("侯", "hou", 2), ("龙", "long", 2), ("顾", "gu", 2), ("毛", "mao", 2), ("欧阳", "ouyang", 1),
)
# Given names with their pinyin syllables (for e-mail addresses such as jianguo.wang, wangjg).
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("建国", "jian guo"), ("建华", "jian hua"), ("志强", "zhi qiang"), ("伟", "wei"),
    ("芳", "fang"), ("娜", "na"), ("秀英", "xiu ying"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
    ("秀兰", "xiu lan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "gui ying"),
    ("海燕", "hai yan"), ("晓东", "xiao dong"), ("俊杰", "jun jie"), ("鹏飞", "peng fei"),
    ("宇航", "yu hang"), ("浩然", "hao ran"), ("婷婷", "ting ting"), ("雪梅", "xue mei"),
    ("春华", "chun hua"), ("国强", "guo qiang"), ("玉兰", "yu lan"), ("红梅", "hong mei"),
    ("立新", "li xin"), ("文斌", "wen bin"), ("志刚", "zhi gang"), ("晓燕", "xiao yan"),
    ("丽华", "li hua"), ("永红", "yong hong"), ("海涛", "hai tao"), ("振华", "zhen hua"),
    ("思远", "si yuan"), ("佳怡", "jia yi"), ("子涵", "zi han"), ("欣怡", "xin yi"),
    ("嘉伟", "jia wei"), ("凯", "kai"), ("斌", "bin"), ("琳", "lin"), ("慧敏", "hui min"),
    ("建军", "jian jun"), ("德华", "de hua"), ("国华", "guo hua"), ("卫东", "wei dong"),
    ("建平", "jian ping"), ("金凤", "jin feng"), ("晨", "chen"), ("雅琴", "ya qin"),
    ("少华", "shao hua"), ("学军", "xue jun"), ("红霞", "hong xia"), ("明辉", "ming hui"),
)
ENTERPRISE_PRIMARY_ROLES = {"采购经理": 5, "总经理": 2, "采购专员": 3}
ENTERPRISE_OTHER_ROLES = ("财务主管", "财务经理", "副总经理", "仓储主管", "技术总监", "出纳",
                          "生产经理")
DEALER_PRIMARY_ROLES = {"总经理": 4, "负责人": 3, "采购": 3}
DEALER_OTHER_ROLES = ("财务", "店长", "仓库管理员", "业务员")
# Demo addresses live under the domains reserved for examples (RFC 2606), so a demo's notices
# can never reach a real mailbox, whatever mail server is configured.
FREE_MAIL = ("mail.example.com", "example.net", "example.org")
TLDS = (".example.com", ".example.net", ".example.org")
MOBILE_PREFIXES = tuple([f"13{d}" for d in range(10)]
                        + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
                        + [f"18{d}" for d in range(10)])

# Big commercial cities get most customers; every other prefecture-level region weighs 0.15.
CITY_WEIGHTS: dict[str, float] = {
    **dict.fromkeys(("上海", "北京", "深圳", "广州"), 30),
    **dict.fromkeys(("杭州", "苏州", "成都", "重庆", "武汉", "南京", "天津", "宁波", "东莞",
                     "佛山"), 12),
    **dict.fromkeys(("西安", "长沙", "郑州", "青岛", "合肥", "无锡", "厦门", "济南", "福州",
                     "温州", "泉州", "常州", "南通", "嘉兴", "绍兴", "金华", "台州", "昆明",
                     "沈阳", "大连", "石家庄", "南昌", "烟台", "潍坊", "徐州", "惠州", "中山",
                     "珠海"), 5),
    **dict.fromkeys(("哈尔滨", "长春", "太原", "南宁", "贵阳", "兰州", "乌鲁木齐", "海口",
                     "呼和浩特", "银川", "西宁", "扬州", "镇江", "盐城", "泰州", "湖州", "唐山",
                     "保定", "洛阳", "芜湖", "临沂", "淄博", "济宁", "汕头", "江门", "襄阳",
                     "宜昌", "株洲", "岳阳", "柳州", "绵阳", "遵义", "廊坊", "沧州", "漳州",
                     "赣州", "包头", "鄂尔多斯", "榆林", "宝鸡"), 2),
}
OTHER_CITY_WEIGHT = 0.15
AREA_CODES: dict[str, str] = {
    "北京": "010", "上海": "021", "天津": "022", "重庆": "023", "广州": "020", "深圳": "0755",
    "杭州": "0571", "宁波": "0574", "温州": "0577", "嘉兴": "0573", "湖州": "0572",
    "绍兴": "0575", "金华": "0579", "台州": "0576", "南京": "025", "苏州": "0512",
    "无锡": "0510", "常州": "0519", "南通": "0513", "徐州": "0516", "扬州": "0514",
    "镇江": "0511", "盐城": "0515", "泰州": "0523", "成都": "028", "武汉": "027",
    "西安": "029", "沈阳": "024", "大连": "0411", "郑州": "0371", "洛阳": "0379",
    "长沙": "0731", "株洲": "0731", "岳阳": "0730", "济南": "0531", "青岛": "0532",
    "烟台": "0535", "潍坊": "0536", "淄博": "0533", "临沂": "0539", "济宁": "0537",
    "合肥": "0551", "芜湖": "0553", "福州": "0591", "厦门": "0592", "泉州": "0595",
    "漳州": "0596", "东莞": "0769", "佛山": "0757", "惠州": "0752", "中山": "0760",
    "珠海": "0756", "汕头": "0754", "江门": "0750", "昆明": "0871", "南昌": "0791",
    "赣州": "0797", "石家庄": "0311", "唐山": "0315", "保定": "0312", "廊坊": "0316",
    "沧州": "0317", "哈尔滨": "0451", "长春": "0431", "太原": "0351", "南宁": "0771",
    "柳州": "0772", "贵阳": "0851", "遵义": "0851", "兰州": "0931", "乌鲁木齐": "0991",
    "海口": "0898", "呼和浩特": "0471", "包头": "0472", "鄂尔多斯": "0477", "银川": "0951",
    "西宁": "0971", "襄阳": "0710", "宜昌": "0717", "绵阳": "0816", "榆林": "0912",
    "宝鸡": "0917",
}
DISTRICTS: dict[str, tuple[str, ...]] = {
    "北京": ("朝阳区", "海淀区", "丰台区", "大兴区", "顺义区", "通州区"),
    "上海": ("浦东新区", "闵行区", "嘉定区", "松江区", "徐汇区", "宝山区"),
    "天津": ("滨海新区", "西青区", "南开区", "武清区", "东丽区"),
    "重庆": ("渝北区", "九龙坡区", "江北区", "沙坪坝区", "巴南区"),
    "广州": ("天河区", "白云区", "番禺区", "黄埔区", "海珠区"),
    "深圳": ("南山区", "宝安区", "龙岗区", "福田区", "龙华区"),
    "杭州": ("西湖区", "滨江区", "余杭区", "萧山区", "拱墅区"),
    "苏州": ("工业园区", "吴中区", "相城区", "昆山市", "吴江区"),
    "成都": ("武侯区", "高新区", "双流区", "郫都区", "锦江区"),
    "武汉": ("洪山区", "江汉区", "东西湖区", "江夏区", "汉阳区"),
    "南京": ("江宁区", "鼓楼区", "浦口区", "秦淮区", "栖霞区"),
    "宁波": ("鄞州区", "北仑区", "慈溪市", "余姚市", "海曙区"),
    "东莞": ("长安镇", "松山湖", "虎门镇", "塘厦镇", "厚街镇"),
    "佛山": ("顺德区", "南海区", "禅城区", "三水区"),
}
ZONES = ("经济技术开发区", "高新技术产业开发区", "工业园区", "", "", "")
ROADS = ("人民路", "解放路", "建设路", "中山路", "新华路", "工业大道", "科技路", "长江路",
         "黄河路", "胜利路", "和平路", "文化路", "东风路", "创业路", "兴业路", "学院路",
         "迎宾大道", "滨河路", "世纪大道", "环城北路", "发展大道", "振兴路")
MARKETS = {  # where individual traders have their stalls and shops, by industry
    Industry.TRADE: ("建材市场", "五金机电城", "小商品市场", "汽配城"),
    Industry.AGRICULTURE: ("农贸市场", "农产品批发市场"),
    Industry.HOSPITALITY: ("美食街", "步行街"),
    Industry.HOUSEHOLD: ("社区商业街", "便民服务中心"),
}
NOTES = ("框架协议客户，按月对账", "需开具增值税专用发票", "老客户转介绍", "展会结识，重点跟进",
         "回款偏慢，需关注", "年度采购计划已报送")

# --- codes ----------------------------------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def _org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(ch, 36) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _uscc_check(first17: str) -> str:
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def credit_code_is_valid(code: str) -> bool:
    """Is `code` a well-formed unified social credit code (both check characters right)?"""
    if len(code) != 18 or any(ch not in USCC_CHARS for ch in code):
        return False
    if not code[2:8].isdigit() or code[16] != _org_code_check(code[8:16]):
        return False
    return code[17] == _uscc_check(code[:17])


def make_credit_code(rng: random.Random, region_code: str, *, individual: bool) -> str:
    """A format-valid 统一社会信用代码: authority 9 (market regulation), category 1 (enterprise)
    or 2 (个体工商户), the region code, a GB 11714 organisation code and the check character."""
    if rng.random() < 0.6:  # registrations since 2015 carry "MA" organisation codes
        body = "MA" + "".join(rng.choice(USCC_CHARS) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = ("92" if individual else "91") + region_code + body + _org_code_check(body)
    return first17 + _uscc_check(first17)


# --- plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionInfo:
    code: str
    name: str
    province: str  # "" for municipalities

    @property
    def city(self) -> str:
        return short_city_name(self.name)


@dataclass
class ContactPlan:
    name: str
    role: str
    phone: str
    email: str
    is_primary: bool


@dataclass
class CustomerPlan:
    index: int
    kind: str
    industry: str
    region: RegionInfo
    scale_band: str
    value_tier: str
    status: str
    manager: int | None  # index into the account managers
    name: str = ""
    trade_name: str = ""
    domain: str = ""
    phone: str = ""
    id_number: str = ""
    address: str = ""
    notes: str = ""
    contacts: list[ContactPlan] = field(default_factory=list)


@dataclass
class GroupPlan:
    name: str
    parent: int
    members: list[int]


@dataclass
class RegistryPlan:
    customers: list[CustomerPlan]
    groups: list[GroupPlan]


_ETHNIC = "朝鲜|土家|布依|苗|侗|藏|羌|彝|壮|傣|景颇|傈僳|白|哈尼|回|蒙古|柯尔克孜|哈萨克"
_AUTONOMOUS = re.compile(rf"^(.+?)(?:(?:{_ETHNIC})族?)+自治州$")


def short_city_name(name: str) -> str:
    """杭州市 → 杭州, 延边朝鲜族自治州 → 延边, 阿克苏地区 → 阿克苏, 锡林郭勒盟 → 锡林郭勒."""
    match = _AUTONOMOUS.match(name)
    if match:
        return match.group(1)
    for suffix in ("地区", "市", "盟"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def demo_regions(regions: Sequence[Any]) -> list[RegionInfo]:
    """The regions a demo customer can be in: the leaves of the table (prefecture-level rows and
    the municipalities), without the 'directly administered county' placeholders, 三沙 and
    Hong Kong, Macao and Taiwan. `regions` are Region rows (or anything with code, name,
    parent_id and parent)."""
    parents = {r.parent_id for r in regions if r.parent_id}
    names = {r.code: r.name for r in regions}
    leaves = []
    for r in sorted(regions, key=lambda r: r.code):
        if r.code in parents or "直辖" in r.name or r.name == "三沙市":
            continue
        if r.code[:2] in ("71", "81", "82"):
            continue
        leaves.append(RegionInfo(r.code, r.name, names.get(r.parent_id, "") if r.parent_id
                                 else ""))
    return leaves


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _pick_regions(rng: random.Random, regions: list[RegionInfo], n: int) -> list[RegionInfo]:
    """n regions weighted towards big cities; a quarter of them (up to 100) are drawn without
    replacement, so the demo always covers at least that many different regions."""
    weights = [CITY_WEIGHTS.get(r.city, OTHER_CITY_WEIGHT) for r in regions]
    distinct = min(len(regions), max(1, n // 4), 100) if n else 0
    keyed = sorted(range(len(regions)), key=lambda i: rng.random() ** (1 / weights[i]),
                   reverse=True)
    picked = [regions[i] for i in keyed[:distinct]]
    picked += rng.choices(regions, weights=weights, k=n - distinct)
    rng.shuffle(picked)
    return picked


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _landline(rng: random.Random, area: str) -> str:
    return f"{area}-{rng.randint(2, 8)}{rng.randrange(10**7):07d}"


@dataclass(frozen=True)
class Person:
    surname: str
    given: str
    surname_py: str
    given_py: str  # syllables separated by spaces

    @property
    def name(self) -> str:
        return self.surname + self.given


def _person(rng: random.Random, surname: tuple[str, str] | None = None) -> Person:
    if surname is None:
        hanzi, pinyin, _weight = rng.choices(SURNAMES, weights=[s[2] for s in SURNAMES])[0]
        surname = (hanzi, pinyin)
    given, given_py = rng.choice(GIVEN_NAMES)
    return Person(surname[0], given, surname[1], given_py)


def _email_local(rng: random.Random, person: Person) -> str:
    given = person.given_py.replace(" ", "")
    style = rng.randrange(3)
    if style == 0:
        return person.surname_py + given
    if style == 1:
        return f"{given}.{person.surname_py}"
    return person.surname_py + "".join(s[0] for s in person.given_py.split())


def _trade_name(rng: random.Random, region: RegionInfo) -> tuple[str, str]:
    chars = list(TRADE_CHARS)
    if rng.random() < 0.2 and region.code[:2] in PROVINCE_ABBR:
        first, first_py = PROVINCE_ABBR[region.code[:2]]
    else:
        first = rng.choice(chars)
        first_py = TRADE_CHARS[first]
    second = rng.choice([c for c in chars if c != first])
    return first + second, first_py + TRADE_CHARS[second]


def _address(rng: random.Random, plan: CustomerPlan) -> str:
    region = plan.region
    city = region.city
    prefix = f"{region.province}{region.name}"
    number = rng.randint(1, 999)
    if plan.kind == CustomerKind.INDIVIDUAL:
        market = rng.choice(MARKETS[plan.industry])
        return f"{prefix}{market}{rng.choice('ABCDE')}区{rng.randint(1, 300)}号"
    district = rng.choice(DISTRICTS[city]) if city in DISTRICTS else rng.choice(ZONES)
    address = f"{prefix}{district}{rng.choice(ROADS)}{number}号"
    if plan.kind == CustomerKind.ENTERPRISE and rng.random() < 0.5:
        address += f"{rng.randint(1, 12)}幢{rng.randint(1, 18)}{rng.randint(1, 20):02d}室"
    elif plan.kind == CustomerKind.DEALER and rng.random() < 0.4:
        address += f"{rng.randint(1, 30)}号商铺"
    return address


def _contacts(rng: random.Random, plan: CustomerPlan, owner: Person | None
              ) -> list[ContactPlan]:
    count = rng.choices((1, 2, 3), weights=(45, 35, 20))[0]
    if plan.kind == CustomerKind.INDIVIDUAL:
        assert owner is not None
        people = [owner]
        roles = ["负责人"]
        if count > 1:  # a family member keeps the books
            people.append(_person(rng, (owner.surname, owner.surname_py)))
            roles.append("财务")
    else:
        primary, others = ((ENTERPRISE_PRIMARY_ROLES, ENTERPRISE_OTHER_ROLES)
                           if plan.kind == CustomerKind.ENTERPRISE
                           else (DEALER_PRIMARY_ROLES, DEALER_OTHER_ROLES))
        roles = [_weighted(rng, primary), *rng.sample(others, count - 1)]
        people = []
        while len(people) < count:
            person = _person(rng)
            if person.name not in {p.name for p in people}:
                people.append(person)
    contacts = []
    for i, (person, role) in enumerate(zip(people, roles, strict=True)):
        local = _email_local(rng, person)
        if plan.domain:
            email = f"{local}@{plan.domain}"
        else:
            digits = str(rng.randint(60, 99)) if rng.random() < 0.5 else ""
            email = f"{local}{digits}@{rng.choice(FREE_MAIL)}"
        phone = plan.phone if person is owner else _mobile(rng)
        contacts.append(ContactPlan(name=person.name, role=role, phone=phone, email=email,
                                    is_primary=i == 0))
    return contacts


def _choose_groups(rng: random.Random, plans: list[CustomerPlan]) -> list[tuple[int, list[int]]]:
    """(parent, members) index lists: ~8 groups per 200 customers, 2–6 customers each."""
    wanted = len(plans) // 25 if len(plans) >= 25 else (1 if len(plans) >= 6 else 0)
    scale_pref = {ScaleBand.LARGE: 8, ScaleBand.MEDIUM: 4, ScaleBand.SMALL: 1,
                  ScaleBand.MICRO: 0}
    parents_pool = [p.index for p in plans if p.kind == CustomerKind.ENTERPRISE
                    and scale_pref[p.scale_band] and p.status == CustomerStatus.ACTIVE]
    taken: set[int] = set()
    result = []
    for _ in range(wanted):
        pool = [i for i in parents_pool if i not in taken]
        if not pool:
            break
        parent = rng.choices(pool, weights=[scale_pref[plans[i].scale_band] for i in pool])[0]
        taken.add(parent)
        candidates = [p.index for p in plans if p.index not in taken
                      and p.kind != CustomerKind.INDIVIDUAL and p.status != CustomerStatus.CLOSED]
        size = min(rng.randint(2, 6), len(candidates) + 1)
        if size < 2:
            taken.discard(parent)
            break
        members = rng.sample(candidates, size - 1)
        taken.update(members)
        result.append((parent, members))
    return result


def plan_registry(*, customers: int, seed: int, regions: list[RegionInfo],
                  managers: int) -> RegistryPlan:
    """The whole demo registry as plain data. Pure: no database, no clock."""
    if not regions:
        raise ValidationFailed(gettext("the region table has no regions to put demo customers in"),
                               field="region")
    rng = random.Random(seed)
    picked = _pick_regions(rng, regions, customers)
    plans: list[CustomerPlan] = []
    for i in range(customers):
        kind = _weighted(rng, KIND_WEIGHTS)
        if kind == CustomerKind.ENTERPRISE:
            industry = _weighted(rng, {k: w for k, (w, _words) in INDUSTRY_WORDS.items() if w})
        elif kind == CustomerKind.DEALER:
            industry = _weighted(rng, DEALER_INDUSTRIES)
        else:
            industry = _weighted(rng, INDIVIDUAL_INDUSTRIES)
        scale = _weighted(rng, SCALE_WEIGHTS[kind])
        plans.append(CustomerPlan(
            index=i, kind=str(kind), industry=str(industry), region=picked[i],
            scale_band=str(scale), value_tier=str(_weighted(rng, TIER_WEIGHTS[scale])),
            status=str(_weighted(rng, STATUS_WEIGHTS)),
            manager=i % managers if managers else None))

    chosen = _choose_groups(rng, plans)
    parent_of = {m: parent for parent, members in chosen for m in members}
    parents = {parent for parent, _members in chosen}
    for parent in parents:  # groups are built around going concerns
        plans[parent].status = CustomerStatus.ACTIVE.value
        if plans[parent].scale_band in (ScaleBand.SMALL, ScaleBand.MICRO):
            plans[parent].scale_band = ScaleBand.MEDIUM.value
    used_names: set[str] = set()
    parent_trade_names: set[str] = set()
    # Parents first, so members can take their 字号 and mail domain.
    for plan in sorted(plans, key=lambda p: (p.index not in parents, p.index)):
        _name_customer(rng, plan, plans[parent_of[plan.index]] if plan.index in parent_of
                       else None, plan.index in parents, used_names, parent_trade_names)
    groups = [GroupPlan(name=f"{plans[parent].trade_name}集团", parent=parent, members=members)
              for parent, members in chosen]
    return RegistryPlan(customers=plans, groups=groups)


def _name_customer(rng: random.Random, plan: CustomerPlan, parent: CustomerPlan | None,
                   is_parent: bool, used: set[str], parent_trade_names: set[str]) -> None:
    region = plan.region
    city = region.city
    owner = None
    if plan.kind == CustomerKind.INDIVIDUAL:
        for _attempt in range(50):
            owner = _person(rng)
            if owner.name not in used:
                break
        assert owner is not None
        plan.name = owner.name
    else:
        _name_company(rng, plan, parent, is_parent, used, parent_trade_names)
    if plan.name in used:
        plan.name = f"{plan.name}（{plan.index + 1}）"
    used.add(plan.name)
    area = AREA_CODES.get(city)
    use_landline = area is not None and (
        plan.kind == CustomerKind.ENTERPRISE
        or (plan.kind == CustomerKind.DEALER and rng.random() < 0.5))
    plan.phone = _landline(rng, area) if use_landline and area else _mobile(rng)
    plan.id_number = make_credit_code(rng, region.code,
                                      individual=plan.kind == CustomerKind.INDIVIDUAL)
    plan.address = _address(rng, plan)
    plan.notes = rng.choice(NOTES) if rng.random() < 0.2 else ""
    plan.contacts = _contacts(rng, plan, owner)


def _name_company(rng: random.Random, plan: CustomerPlan, parent: CustomerPlan | None,
                  is_parent: bool, used: set[str], parent_trade_names: set[str]) -> None:
    """城市 + 字号 + 行业 + 组织形式; group members carry their parent's 字号 and mail domain."""
    city = plan.region.city
    name = trade = trade_py = form = ""
    for attempt in range(60):
        if parent is not None:
            trade = parent.trade_name
        else:
            trade, trade_py = _trade_name(rng, plan.region)
            if is_parent and trade in parent_trade_names:
                continue
        if plan.kind == CustomerKind.ENTERPRISE:
            form = _weighted(rng, ENTERPRISE_FORMS)
            word = rng.choice(INDUSTRY_WORDS[plan.industry][1])
        elif parent is None and plan.industry == Industry.TRADE:
            form = _weighted(rng, DEALER_FORMS)
            word = rng.choice(SHOP_WORDS if form != "有限公司" else DEALER_WORDS[plan.industry])
        else:
            form, word = "有限公司", rng.choice(DEALER_WORDS[plan.industry])
        if is_parent:
            name = (f"{city}{trade}集团有限公司" if rng.random() < 0.5
                    else f"{city}{trade}{word}股份有限公司")
        elif parent is not None and attempt >= 20:
            name = f"{parent.name}{city}分公司"
        else:
            name = f"{city}{trade}{word}{form}"
        if name not in used:
            break
    plan.name, plan.trade_name = name, trade
    if is_parent:
        parent_trade_names.add(trade)
    if parent is not None:
        plan.domain = parent.domain
    elif plan.kind == CustomerKind.ENTERPRISE or form == "有限公司":
        suffix = rng.choice(("", "", "", "tech", "group", "china"))
        plan.domain = f"{trade_py}{suffix}{rng.choice(TLDS)}"


# --- build ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    contacts: int
    groups: int
    group_members: int
    regions: int
    by_kind: dict[str, int]
    by_status: dict[str, int]

    def rows(self) -> list[tuple[str, str]]:
        kinds = " / ".join(f"{CustomerKind(k).label} {n}" for k, n in self.by_kind.items())
        statuses = " / ".join(f"{CustomerStatus(s).label} {n}" for s, n in self.by_status.items())
        return [
            ("customers", f"{self.customers} ({kinds})"),
            ("customer status", statuses),
            ("regions covered", str(self.regions)),
            ("contacts", str(self.contacts)),
            ("customer groups", f"{self.groups} ({self.group_members} member customers)"),
        ]


def build_registry_demo(*, customers: int, seed: int, actor: Actor, users: dict[str, User],
                        progress: Callable[[int], None] | None = None) -> DemoSummary:
    """Create the planned customers (with contacts) and groups through the registry services.
    The account managers are the users whose username starts with "account_manager", in
    username order; each customer's department is its manager's."""
    region_rows = list(Region.objects.all())
    regions = demo_regions(region_rows)
    managers = [users[k] for k in sorted(users) if k.startswith("account_manager")]
    plan = plan_registry(customers=customers, seed=seed, regions=regions, managers=len(managers))
    by_code = {r.code: r for r in region_rows}
    created: list[Customer] = []
    for item in plan.customers:
        manager = managers[item.manager] if item.manager is not None else None
        created.append(services.create_customer(
            actor, region=by_code[item.region.code],
            contacts=[vars(c) for c in item.contacts],
            name=item.name, kind=item.kind, industry=item.industry,
            scale_band=item.scale_band, value_tier=item.value_tier, status=item.status,
            account_manager=manager, department=manager.department if manager else "",
            phone=item.phone, id_number=item.id_number, address=item.address,
            notes=item.notes))
        if progress:
            progress(1)
    members = 0
    for group in plan.groups:
        parent = created[group.parent]
        services.create_group(actor, name=_free_group_name(group.name, plan, group),
                              parent=parent, members=[created[i] for i in group.members],
                              notes="集团统一授信，成员共享集团信用额度")
        members += 1 + len(group.members)
    return DemoSummary(
        customers=len(created),
        contacts=sum(len(c.contacts) for c in plan.customers),
        groups=len(plan.groups), group_members=members,
        regions=len({c.region.code for c in plan.customers}),
        by_kind=dict(Counter(c.kind for c in plan.customers).most_common()),
        by_status=dict(Counter(c.status for c in plan.customers).most_common()))


def _free_group_name(name: str, plan: RegistryPlan, group: GroupPlan) -> str:
    """The planned name, or a variant when an earlier demo run already used it."""
    city = plan.customers[group.parent].region.city
    candidates = [name, f"{city}{name}", *(f"{city}{name}（{n}）" for n in range(2, 100))]
    for candidate in candidates:
        if not CustomerGroup.objects.filter(name=candidate).exists():
            return candidate
    return f"{city}{name}（{group.parent}）"
