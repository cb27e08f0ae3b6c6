//! The fixed word lists the simulated shop is made of: a taxonomy of leaf categories, each with an
//! English and a Chinese product noun and their synonyms, and per-department attribute words,
//! brands and occasions.
//!
//! Everything here is static so that a seed alone fixes the catalog text.

/// A department: leaves of one department share attribute words, brands and occasions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Department {
    Fashion,
    Home,
    Electronics,
    Sports,
    Beauty,
    Kids,
}

/// One leaf of the taxonomy.
#[derive(Debug)]
pub(crate) struct Leaf {
    /// Category path, three levels, `/` between levels.
    pub(crate) path: &'static str,
    /// Which attribute words, brands and occasions apply.
    pub(crate) department: Department,
    /// English product noun as it appears in titles and unaltered queries.
    pub(crate) noun: &'static str,
    /// English synonyms of `noun` (never empty).
    pub(crate) synonyms: &'static [&'static str],
    /// Chinese product noun.
    pub(crate) noun_zh: &'static str,
    /// Chinese synonyms of `noun_zh` (never empty).
    pub(crate) synonyms_zh: &'static [&'static str],
    /// Median price: prices are log-normal around it.
    pub(crate) median_price: f64,
}

const fn leaf(
    path: &'static str,
    department: Department,
    noun: &'static str,
    synonyms: &'static [&'static str],
    noun_zh: &'static str,
    synonyms_zh: &'static [&'static str],
    median_price: f64,
) -> Leaf {
    Leaf {
        path,
        department,
        noun,
        synonyms,
        noun_zh,
        synonyms_zh,
        median_price,
    }
}

use Department::*;

/// The taxonomy, in the order leaves are used: the first `n_categories` leaves of this list
/// make up a shop, so it interleaves departments to keep small shops varied.
pub(crate) static TAXONOMY: [Leaf; 36] = [
    leaf(
        "Women/Dresses/Maxi",
        Fashion,
        "maxi dress",
        &["long dress", "gown"],
        "长裙",
        &["连衣裙", "长款连衣裙"],
        60.0,
    ),
    leaf(
        "Home/Furniture/Sofas",
        Home,
        "sofa",
        &["couch", "settee"],
        "沙发",
        &["长沙发", "布艺沙发"],
        600.0,
    ),
    leaf(
        "Electronics/Audio/Headphones",
        Electronics,
        "headphones",
        &["headset", "earphones"],
        "耳机",
        &["耳麦", "头戴耳机"],
        80.0,
    ),
    leaf(
        "Sports/Fitness/Yoga Mats",
        Sports,
        "yoga mat",
        &["exercise mat", "fitness mat"],
        "瑜伽垫",
        &["健身垫"],
        30.0,
    ),
    leaf(
        "Beauty/Skincare/Moisturizers",
        Beauty,
        "moisturizer",
        &["face cream", "moisturiser"],
        "面霜",
        &["保湿霜"],
        25.0,
    ),
    leaf(
        "Kids/Toys/Building Blocks",
        Kids,
        "building blocks",
        &["construction bricks", "toy bricks"],
        "积木",
        &["拼装积木"],
        35.0,
    ),
    leaf(
        "Men/Shoes/Sneakers",
        Fashion,
        "sneakers",
        &["trainers", "running shoes"],
        "运动鞋",
        &["球鞋", "跑鞋"],
        90.0,
    ),
    leaf(
        "Home/Kitchen/Cookware",
        Home,
        "frying pan",
        &["skillet", "fry pan"],
        "煎锅",
        &["平底锅"],
        40.0,
    ),
    leaf(
        "Electronics/Phones/Smartphones",
        Electronics,
        "smartphone",
        &["mobile phone", "cell phone"],
        "手机",
        &["智能手机"],
        500.0,
    ),
    leaf(
        "Sports/Cycling/Helmets",
        Sports,
        "bike helmet",
        &["cycling helmet", "bicycle helmet"],
        "骑行头盔",
        &["自行车头盔"],
        60.0,
    ),
    leaf(
        "Beauty/Makeup/Lipstick",
        Beauty,
        "lipstick",
        &["lip colour", "lip stick"],
        "口红",
        &["唇膏"],
        20.0,
    ),
    leaf(
        "Kids/Toys/Plush",
        Kids,
        "plush toy",
        &["stuffed animal", "soft toy"],
        "毛绒玩具",
        &["公仔"],
        20.0,
    ),
    leaf(
        "Women/Tops/Blouses",
        Fashion,
        "blouse",
        &["top", "womens shirt"],
        "女士衬衫",
        &["女衫", "雪纺衫"],
        40.0,
    ),
    leaf(
        "Home/Furniture/Tables",
        Home,
        "dining table",
        &["kitchen table", "dinner table"],
        "餐桌",
        &["饭桌"],
        300.0,
    ),
    leaf(
        "Electronics/Computers/Laptops",
        Electronics,
        "laptop",
        &["notebook computer", "notebook"],
        "笔记本电脑",
        &["手提电脑"],
        900.0,
    ),
    leaf(
        "Sports/Outdoor/Tents",
        Sports,
        "tent",
        &["camping tent", "shelter"],
        "帐篷",
        &["露营帐篷"],
        150.0,
    ),
    leaf(
        "Beauty/Haircare/Shampoo",
        Beauty,
        "shampoo",
        &["hair wash", "hair cleanser"],
        "洗发水",
        &["洗发露"],
        12.0,
    ),
    leaf(
        "Kids/Clothing/Pajamas",
        Kids,
        "kids pajamas",
        &["childrens pyjamas", "sleepwear"],
        "儿童睡衣",
        &["童装睡衣"],
        25.0,
    ),
    leaf(
        "Women/Shoes/Boots",
        Fashion,
        "ankle boots",
        &["booties", "short boots"],
        "短靴",
        &["踝靴"],
        110.0,
    ),
    leaf(
        "Home/Bedding/Pillows",
        Home,
        "pillow",
        &["cushion", "bed pillow"],
        "枕头",
        &["靠枕"],
        30.0,
    ),
    leaf(
        "Electronics/Audio/Speakers",
        Electronics,
        "speaker",
        &["loudspeaker", "sound box"],
        "音箱",
        &["音响", "扬声器"],
        120.0,
    ),
    leaf(
        "Sports/Fitness/Dumbbells",
        Sports,
        "dumbbells",
        &["hand weights", "free weights"],
        "哑铃",
        &["手持哑铃"],
        45.0,
    ),
    leaf(
        "Beauty/Fragrance/Perfume",
        Beauty,
        "perfume",
        &["fragrance", "eau de parfum"],
        "香水",
        &["淡香水"],
        70.0,
    ),
    leaf(
        "Men/Shirts/Casual",
        Fashion,
        "casual shirt",
        &["button down shirt", "mens shirt"],
        "休闲衬衫",
        &["男士衬衫"],
        45.0,
    ),
    leaf(
        "Home/Kitchen/Kettles",
        Home,
        "kettle",
        &["tea kettle", "water boiler"],
        "水壶",
        &["烧水壶", "电热水壶"],
        35.0,
    ),
    leaf(
        "Electronics/Phones/Chargers",
        Electronics,
        "charger",
        &["power adapter", "charging plug"],
        "充电器",
        &["充电头"],
        20.0,
    ),
    leaf(
        "Men/Trousers/Jeans",
        Fashion,
        "jeans",
        &["denim pants", "denims"],
        "牛仔裤",
        &["丹宁裤"],
        70.0,
    ),
    leaf(
        "Home/Lighting/Lamps",
        Home,
        "table lamp",
        &["desk lamp", "reading light"],
        "台灯",
        &["书桌灯"],
        45.0,
    ),
    leaf(
        "Electronics/Computers/Keyboards",
        Electronics,
        "keyboard",
        &["keypad", "typing board"],
        "键盘",
        &["机械键盘"],
        60.0,
    ),
    leaf(
        "Sports/Running/Shorts",
        Sports,
        "running shorts",
        &["jogging shorts", "gym shorts"],
        "跑步短裤",
        &["运动短裤"],
        30.0,
    ),
    leaf(
        "Men/Jackets/Winter",
        Fashion,
        "winter jacket",
        &["parka", "puffer coat"],
        "冬季夹克",
        &["羽绒服", "棉服"],
        150.0,
    ),
    leaf(
        "Kids/Toys/Puzzles",
        Kids,
        "jigsaw puzzle",
        &["puzzle", "picture puzzle"],
        "拼图",
        &["拼图玩具"],
        18.0,
    ),
    leaf(
        "Women/Dresses/Mini",
        Fashion,
        "mini dress",
        &["short dress", "cocktail dress"],
        "短裙",
        &["迷你裙", "短款连衣裙"],
        50.0,
    ),
    leaf(
        "Home/Furniture/Chairs",
        Home,
        "armchair",
        &["accent chair", "lounge chair"],
        "扶手椅",
        &["休闲椅"],
        250.0,
    ),
    leaf(
        "Women/Bags/Handbags",
        Fashion,
        "handbag",
        &["purse", "tote bag"],
        "手提包",
        &["女包", "挎包"],
        120.0,
    ),
    leaf(
        "Men/Accessories/Watches",
        Fashion,
        "watch",
        &["wristwatch", "timepiece"],
        "手表",
        &["腕表"],
        200.0,
    ),
];

/// Colours, shared by every department: (English, Chinese).
pub(crate) static COLORS: [(&str, &str); 10] = [
    ("red", "红色"),
    ("blue", "蓝色"),
    ("black", "黑色"),
    ("white", "白色"),
    ("green", "绿色"),
    ("grey", "灰色"),
    ("pink", "粉色"),
    ("beige", "米色"),
    ("navy", "藏青色"),
    ("yellow", "黄色"),
];

/// The material or feature words of a department: (English, Chinese).
pub(crate) fn features(department: Department) -> &'static [(&'static str, &'static str)] {
    match department {
        Fashion => &[
            ("silk", "真丝"),
            ("cotton", "纯棉"),
            ("linen", "亚麻"),
            ("leather", "真皮"),
            ("wool", "羊毛"),
            ("denim", "牛仔"),
            ("velvet", "丝绒"),
            ("knit", "针织"),
        ],
        Home => &[
            ("oak", "橡木"),
            ("velvet", "丝绒"),
            ("steel", "不锈钢"),
            ("ceramic", "陶瓷"),
            ("bamboo", "竹制"),
            ("linen", "亚麻"),
            ("glass", "玻璃"),
        ],
        Electronics => &[
            ("wireless", "无线"),
            ("bluetooth", "蓝牙"),
            ("noise cancelling", "降噪"),
            ("portable", "便携"),
            ("fast charging", "快充"),
            ("waterproof", "防水"),
        ],
        Sports => &[
            ("lightweight", "轻量"),
            ("waterproof", "防水"),
            ("breathable", "透气"),
            ("foldable", "折叠"),
            ("non slip", "防滑"),
        ],
        Beauty => &[
            ("organic", "有机"),
            ("hydrating", "保湿"),
            ("matte", "哑光"),
            ("vegan", "纯素"),
            ("long lasting", "持久"),
        ],
        Kids => &[
            ("wooden", "木质"),
            ("educational", "益智"),
            ("soft", "柔软"),
            ("organic", "有机"),
            ("cartoon", "卡通"),
        ],
    }
}

/// Brand names of a department (English items and Chinese items share them).
pub(crate) fn brands(department: Department) -> &'static [&'static str] {
    match department {
        Fashion => &[
            "Aurelia",
            "Northwind",
            "Maison Vero",
            "Kestrel",
            "Lunara",
            "Yunshang",
        ],
        Home => &["Hearthly", "Oakhaven", "Casa Nova", "Linden", "Mubai"],
        Electronics => &["Voltix", "Sonara", "Pixelon", "Quanta", "Leiting"],
        Sports => &["Stridefit", "Peakline", "Trailmark", "Zenfit", "Feiyue"],
        Beauty => &["Glowe", "Petalique", "Purelle", "Velour", "Huaxi"],
        Kids => &["Tinytown", "Brickly", "Moonbeam", "Happy Panda", "Tongqu"],
    }
}

/// What an item of a department is good for: (English, Chinese), used in descriptions.
pub(crate) fn occasions(department: Department) -> &'static [(&'static str, &'static str)] {
    match department {
        Fashion => &[
            ("weekend outings", "周末出游"),
            ("the office", "日常通勤"),
            ("summer evenings", "夏日晚会"),
        ],
        Home => &[
            ("small apartments", "小户型"),
            ("family dinners", "家庭聚餐"),
            ("cosy evenings", "温馨夜晚"),
        ],
        Electronics => &[
            ("commuting", "通勤路上"),
            ("working from home", "居家办公"),
            ("gaming", "游戏娱乐"),
        ],
        Sports => &[
            ("morning workouts", "晨练"),
            ("outdoor adventures", "户外探险"),
            ("training at home", "居家训练"),
        ],
        Beauty => &[
            ("daily care", "日常护理"),
            ("sensitive skin", "敏感肌"),
            ("special occasions", "重要场合"),
        ],
        Kids => &[
            ("rainy days", "雨天室内"),
            ("birthday gifts", "生日礼物"),
            ("bedtime", "睡前时光"),
        ],
    }
}

/// English query paraphrase templates; `{a}` is the attribute word, `{n}` the product noun.
pub(crate) static PARAPHRASES_EN: [&str; 5] = [
    "{n} in {a}",
    "looking for a {a} {n}",
    "i want {a} {n}",
    "best {a} {n} deals",
    "{n} that is {a}",
];

/// Chinese query paraphrase templates.
pub(crate) static PARAPHRASES_ZH: [&str; 4] =
    ["{a}的{n}", "想买{a}{n}", "求推荐{a}{n}", "{n} {a}款"];

/// Region labels of users.
pub(crate) static REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];

/// The parent of a category path: everything before the last `/`.
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(parent, _)| parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taxonomy_is_well_formed() {
        let mut paths: Vec<&str> = TAXONOMY.iter().map(|leaf| leaf.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), TAXONOMY.len(), "leaf paths are unique");
        for leaf in &TAXONOMY {
            assert_eq!(leaf.path.split('/').count(), 3, "{}", leaf.path);
            assert!(!leaf.synonyms.is_empty() && !leaf.synonyms_zh.is_empty());
            assert!(!leaf.synonyms.contains(&leaf.noun));
            assert!(leaf.median_price > 0.0);
        }
        assert_eq!(parent("Women/Dresses/Maxi"), "Women/Dresses");
    }
}
