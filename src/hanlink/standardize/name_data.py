"""Lookup data for names: surnames (compound, readings, frequency), HK/TW spellings, pinyin syllables."""

from __future__ import annotations

# Two-character surnames (复姓). A name starting with one of these (and at least 3 characters long) splits
# after two characters; a two-character name like 司马 stays a single surname.
COMPOUND_SURNAMES: tuple[str, ...] = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "端木", "万俟", "闻人", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠",
    "仲孙", "钟离", "鲜于", "闾丘", "东郭", "南宫", "呼延", "百里", "东门", "西门", "羊舌", "微生", "公羊",
    "梁丘", "左丘", "第五", "赫连", "拓跋", "独孤", "司空", "司寇", "巫马", "亓官", "壤驷", "公良", "漆雕",
    "乐正", "谷梁", "段干", "宰父", "夹谷", "完颜", "纳兰", "公西", "颛孙", "子车", "欧侯", "诸伏",
)

# Surname readings where the common (pypinyin) reading is wrong for a surname: 曾 ceng→zeng, 单 dan→shan …
# Toneless, "v" for ü. Compound surnames not listed here take pypinyin"s phrase reading.
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng", "单": "shan", "仇": "qiu", "解": "xie", "区": "ou", "查": "zha", "朴": "piao",
    "乐": "yue", "盖": "ge", "种": "chong", "员": "yun", "覃": "qin", "缪": "miao", "秘": "bi", "黑": "he",
    "翟": "zhai", "阚": "kan", "隗": "wei", "薄": "bo", "藏": "zang", "洗": "xian", "冼": "xian",
    "粘": "nian", "蕃": "pi", "都": "du", "祭": "zhai", "能": "nai", "乜": "nie", "句": "gou", "召": "shao",
    "繁": "po", "折": "she", "重": "chong", "长": "chang", "尉": "wei", "沈": "shen", "柏": "bai",
    "燕": "yan", "纪": "ji", "那": "na", "车": "che", "石": "shi", "相": "xiang", "朝": "chao", "曲": "qu",
    "缑": "gou", "佘": "she", "华": "hua", "任": "ren", "宁": "ning", "叶": "ye", "贾": "jia", "角": "jue",
    "莫": "mo", "牟": "mou", "厍": "she", "应": "ying", "艾": "ai", "郇": "huan", "谌": "chen", "宓": "mi",
    "逄": "pang", "过": "guo", "褚": "chu", "於": "yu", "乾": "qian", "貟": "yun", "尚": "shang",
    "尉迟": "yu chi", "万俟": "mo qi", "单于": "chan yu", "长孙": "zhang sun", "澹台": "tan tai",
    "乐正": "yue zheng", "令狐": "ling hu", "亓官": "qi guan",
}

# The commonest surnames, most frequent first (rank decides which token of a romanized name is the surname).
COMMON_SURNAMES: str = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘"
    "祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟"
    "艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞"
    "姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕"
    "楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣"
    "晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉"
    "银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)

# Hong Kong (Cantonese) and Taiwan (Wade–Giles) spellings of surnames → mainland pinyin readings, the usual
# one first (the name key uses the first; all are kept in surname_alt).
HK_TW_SURNAMES: dict[str, tuple[str, ...]] = {
    "chan": ("chen",), "wong": ("wang", "huang"), "cheung": ("zhang",), "lee": ("li",), "ng": ("wu",),
    "lau": ("liu",), "cheng": ("zheng",), "leung": ("liang",), "chow": ("zhou",), "ho": ("he",),
    "lam": ("lin",), "tsang": ("zeng",), "yeung": ("yang",), "tang": ("deng",), "kwok": ("guo",),
    "hui": ("xu",), "chau": ("zhou",), "chiu": ("zhao",), "choi": ("cai",), "chung": ("zhong",),
    "fung": ("feng",), "ip": ("ye",), "yip": ("ye",), "kwan": ("guan",), "lai": ("li", "lai"),
    "law": ("luo",), "lo": ("lu", "luo"), "lui": ("lv", "lei"), "mak": ("mai",), "man": ("wen",),
    "mok": ("mo",), "poon": ("pan",), "siu": ("xiao",), "szeto": ("situ",), "tam": ("tan",),
    "tse": ("xie",), "tsui": ("xu", "cui"), "wan": ("yun", "wen"), "wu": ("hu", "wu"),
    "yau": ("qiu", "you"), "yuen": ("yuan",), "chong": ("zhuang", "zhang"), "koo": ("gu",), "ko": ("gao",),
    "kong": ("jiang", "kuang"), "tong": ("tang",), "au": ("ou",), "auyeung": ("ouyang",), "tsoi": ("cai",),
    "hung": ("hong", "xiong"), "wai": ("wei",), "sit": ("xue",), "shum": ("cen",), "pang": ("peng",),
    "so": ("su",), "kwong": ("kuang",), "fong": ("fang",), "yiu": ("yao",), "cho": ("cao",),
    "chu": ("zhu",), "yu": ("yu",), "kan": ("jian",), "tsai": ("cai",), "hsu": ("xu",), "chang": ("zhang",),
    "hsieh": ("xie",), "kuo": ("guo",), "tseng": ("zeng",), "chiang": ("jiang",), "chou": ("zhou",),
    "chien": ("jian", "qian"), "hsiao": ("xiao",), "yeh": ("ye",), "kao": ("gao",), "chuang": ("zhuang",),
    "kung": ("gong",), "tsao": ("cao",), "tu": ("du",), "chao": ("zhao",), "tsou": ("zou",),
    "teng": ("deng",), "hsiung": ("xiong",), "chin": ("jin", "qian"), "chen": ("chen",), "lin": ("lin",),
    "huang": ("huang",),
}

# Toneless pinyin syllables ("v" for ü). Interjections (m, n, ng, hm, ê) and rare readings are left out:
# they would split English words and HK spellings into nonsense.
PINYIN_SYLLABLES: frozenset[str] = frozenset((
    "a", "ai", "an", "ang", "ao", "ba", "bai", "ban", "bang", "bao", "bei", "ben", "beng", "bi", "bian",
    "biao", "bie", "bin", "bing", "bo", "bu", "ca", "cai", "can", "cang", "cao", "ce", "cen", "ceng", "cha",
    "chai", "chan", "chang", "chao", "che", "chen", "cheng", "chi", "chong", "chou", "chu", "chua", "chuai",
    "chuan", "chuang", "chui", "chun", "chuo", "ci", "cong", "cou", "cu", "cuan", "cui", "cun", "cuo", "da",
    "dai", "dan", "dang", "dao", "de", "dei", "deng", "di", "dian", "diao", "die", "ding", "diu", "dong",
    "dou", "du", "duan", "dui", "dun", "duo", "e", "ei", "en", "eng", "er", "fa", "fan", "fang", "fei",
    "fen", "feng", "fo", "fou", "fu", "ga", "gai", "gan", "gang", "gao", "ge", "gei", "gen", "geng", "gong",
    "gou", "gu", "gua", "guai", "guan", "guang", "gui", "gun", "guo", "ha", "hai", "han", "hang", "hao",
    "he", "hei", "hen", "heng", "hong", "hou", "hu", "hua", "huai", "huan", "huang", "hui", "hun", "huo",
    "ji", "jia", "jian", "jiang", "jiao", "jie", "jin", "jing", "jiong", "jiu", "ju", "juan", "jue", "jun",
    "ka", "kai", "kan", "kang", "kao", "ke", "ken", "keng", "kong", "kou", "ku", "kua", "kuai", "kuan",
    "kuang", "kui", "kun", "kuo", "la", "lai", "lan", "lang", "lao", "le", "lei", "leng", "li", "lia",
    "lian", "liang", "liao", "lie", "lin", "ling", "liu", "long", "lou", "lu", "luan", "lun", "luo", "lv",
    "lve", "ma", "mai", "man", "mang", "mao", "me", "mei", "men", "meng", "mi", "mian", "miao", "mie",
    "min", "ming", "miu", "mo", "mou", "mu", "na", "nai", "nan", "nang", "nao", "ne", "nei", "nen", "neng",
    "ni", "nian", "niang", "niao", "nie", "nin", "ning", "niu", "nong", "nou", "nu", "nuan", "nuo", "nv",
    "nve", "o", "ou", "pa", "pai", "pan", "pang", "pao", "pei", "pen", "peng", "pi", "pian", "piao", "pie",
    "pin", "ping", "po", "pou", "pu", "qi", "qia", "qian", "qiang", "qiao", "qie", "qin", "qing", "qiong",
    "qiu", "qu", "quan", "que", "qun", "ran", "rang", "rao", "re", "ren", "reng", "ri", "rong", "rou", "ru",
    "rua", "ruan", "rui", "run", "ruo", "sa", "sai", "san", "sang", "sao", "se", "sen", "seng", "sha",
    "shai", "shan", "shang", "shao", "she", "shei", "shen", "sheng", "shi", "shou", "shu", "shua", "shuai",
    "shuan", "shuang", "shui", "shun", "shuo", "si", "song", "sou", "su", "suan", "sui", "sun", "suo", "ta",
    "tai", "tan", "tang", "tao", "te", "teng", "ti", "tian", "tiao", "tie", "ting", "tong", "tou", "tu",
    "tuan", "tui", "tun", "tuo", "wa", "wai", "wan", "wang", "wei", "wen", "weng", "wo", "wu", "xi", "xia",
    "xian", "xiang", "xiao", "xie", "xin", "xing", "xiong", "xiu", "xu", "xuan", "xue", "xun", "ya", "yan",
    "yang", "yao", "ye", "yi", "yin", "ying", "yo", "yong", "you", "yu", "yuan", "yue", "yun", "za", "zai",
    "zan", "zang", "zao", "ze", "zei", "zen", "zeng", "zha", "zhai", "zhan", "zhang", "zhao", "zhe", "zhen",
    "zheng", "zhi", "zhong", "zhou", "zhu", "zhua", "zhuai", "zhuan", "zhuang", "zhui", "zhun", "zhuo",
    "zi", "zong", "zou", "zu", "zuan", "zui", "zun", "zuo",
))

# Passport and keyboard spellings of ü syllables.
SYLLABLE_ALIASES: dict[str, str] = {"lyu": "lv", "nyu": "nv", "lyue": "lve", "nyue": "nve", "lue": "lve",
                                    "nue": "nve"}

# Values that are not names (test data, "unknown", placeholders). Compared after NFKC, lower case and
# removal of spaces and punctuation.
JUNK_NAMES: frozenset[str] = frozenset((
    "aaa", "aaaa", "abc", "abcd", "asdf", "asdfgh", "demo", "dummy", "hello", "n/a", "na", "name", "nan",
    "nil", "noname", "none", "null", "qwer", "qwerty", "sample", "test", "tester", "testing", "testname",
    "tests", "testuser", "unknown", "unnamed", "x", "xx", "xxx", "xxxx", "不详", "会员", "你好", "先生",
    "匿名", "名字", "女士", "姓名", "客户", "小姐", "待定", "待补充", "无", "无名", "无名氏", "暂无",
    "未知", "某", "某人", "某某", "测试", "测试人员", "测试员", "测试客户", "测试数据", "测试用户",
    "测试账号", "用户", "空", "顾客",
))

# The textbook stand-in names (张三, 李四 … like "John Doe"): real people bear them too, so the name alone is
# no finding, but with no usable contact beside it the record is a test record (rule record.junk).
SAMPLE_NAMES: frozenset[str] = frozenset((
    "张三", "李四", "王五", "赵六", "孙七", "周八", "吴九", "郑十", "张三丰", "王小明", "李小明", "韩梅梅",
    "李雷",
))

# Markers of an organisation rather than a person, checked on the NFKC, lower-cased name: any of these
# substrings, a Hanzi name of 3+ characters ending in 厂 / 店 / 中心, or a Latin legal-form word.
COMPANY_WORDS: tuple[str, ...] = (
    "公司", "集团", "商行", "工作室", "事务所", "合作社", "经营部", "门市部", "分行", "支行", "银行",
    "研究院", "研究所", "协会", "学校", "大学", "学院", "医院", "诊所", "酒店", "宾馆", "超市", "商店",
    "商场", "药店", "药房", "饭店", "餐厅", "加工厂", "制造厂",
)
COMPANY_SUFFIXES: tuple[str, ...] = ("厂", "店", "中心")
# ASCII word boundaries: Unicode \b makes the regex engine ~50× slower on Chinese text.
COMPANY_LATIN: str = (r"(?-u:\b)(?:co|ltd|inc|llc|corp|corporation|company|limited|group|gmbh|plc|holdings)"
                      r"(?-u:\b)")
