//! The shop's FAQ: question-answer pairs, and shoppers' questions whose right answer is known.

use std::path::Path;

use rand::seq::SliceRandom;

use crate::output::Table;
use crate::random::{index, stream_rng, Stream};
use crate::SimError;

/// (id, question, answer, paraphrases): what a shop's FAQ page says, and how shoppers ask it.
const ENTRIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "ship-time",
        "How long does shipping take?",
        "Standard delivery takes 3 to 5 working days.",
        &[
            "When will my order arrive?",
            "how many days until my package is delivered",
        ],
    ),
    (
        "ship-cost",
        "How much does shipping cost?",
        "Shipping is free above 50 euros, otherwise 4.95 euros.",
        &["what is the delivery fee", "is shipping free"],
    ),
    (
        "ship-intl",
        "Do you ship internationally?",
        "We ship to all EU countries, the UK and Switzerland.",
        &[
            "can you deliver abroad",
            "do you send orders to other countries",
        ],
    ),
    (
        "ship-express",
        "Is express delivery available?",
        "Express delivery arrives the next working day for 9.95 euros.",
        &[
            "can I get next day delivery",
            "do you offer faster shipping",
        ],
    ),
    (
        "track",
        "How can I track my order?",
        "Use the tracking link in your shipping confirmation email.",
        &["where is my parcel", "tracking number for my order"],
    ),
    (
        "ret-policy",
        "What is your return policy?",
        "You can return unworn items within 30 days for a full refund.",
        &[
            "can I send items back",
            "how many days do I have to return something",
        ],
    ),
    (
        "ret-how",
        "How do I return an item?",
        "Print the prepaid label from your account and drop the parcel at any post office.",
        &["how to send back a product", "return label for my item"],
    ),
    (
        "ret-cost",
        "Are returns free?",
        "Returns are free within the EU.",
        &["do I pay for returning items", "is there a return fee"],
    ),
    (
        "refund-time",
        "When will I get my refund?",
        "Refunds are paid within 5 days of your return reaching us.",
        &[
            "how long does a refund take",
            "I returned my order, where is my money",
        ],
    ),
    (
        "exchange",
        "Can I exchange an item for another size?",
        "Yes: return it and place a new order, the exchange costs nothing.",
        &["swap for a different size", "exchange a product"],
    ),
    (
        "size-guide",
        "Where can I find the size guide?",
        "Each product page links to its size guide under the size selector.",
        &["size chart", "how do I know which size to order"],
    ),
    (
        "size-fit",
        "Do your clothes run small or large?",
        "Our clothes fit true to size; the product page notes exceptions.",
        &["do sizes fit normally", "should I order a size up"],
    ),
    (
        "pay-methods",
        "Which payment methods do you accept?",
        "We accept credit cards, PayPal, Apple Pay and bank transfer.",
        &["can I pay with paypal", "what ways can I pay"],
    ),
    (
        "pay-invoice",
        "Can I pay by invoice?",
        "Invoice payment is available for orders up to 500 euros after a credit check.",
        &["pay later by invoice", "buy now pay later"],
    ),
    (
        "pay-declined",
        "Why was my payment declined?",
        "Check your card details and limit, or contact your bank; then try again.",
        &["my card was refused", "payment failed at checkout"],
    ),
    (
        "pay-secure",
        "Is paying on your site secure?",
        "Payments are encrypted and processed by a certified payment provider.",
        &["is my credit card data safe", "secure checkout"],
    ),
    (
        "order-cancel",
        "Can I cancel my order?",
        "You can cancel within one hour of ordering from your account page.",
        &["how to cancel an order", "I want to cancel what I bought"],
    ),
    (
        "order-change",
        "Can I change my order after placing it?",
        "Orders cannot be changed once placed; cancel it and order again.",
        &["modify my order", "change the address on my order"],
    ),
    (
        "order-missing",
        "My order has not arrived, what should I do?",
        "If your parcel is more than 3 days late, contact us with your order number.",
        &["package never arrived", "my order is late"],
    ),
    (
        "order-damaged",
        "What if my item arrives damaged?",
        "Send us a photo within 14 days and we replace or refund the item.",
        &["product arrived broken", "received a damaged item"],
    ),
    (
        "account-create",
        "Do I need an account to order?",
        "No, you can check out as a guest.",
        &["can I order without registering", "guest checkout"],
    ),
    (
        "account-password",
        "How do I reset my password?",
        "Click Forgot password on the login page and follow the email.",
        &["forgot my password", "cannot log in to my account"],
    ),
    (
        "account-delete",
        "How do I delete my account?",
        "Ask our customer service and we delete your account and data within 30 days.",
        &["remove my account", "close my customer account"],
    ),
    (
        "newsletter",
        "How do I unsubscribe from the newsletter?",
        "Use the unsubscribe link at the bottom of any newsletter.",
        &["stop marketing emails", "unsubscribe emails"],
    ),
    (
        "discount-code",
        "How do I use a discount code?",
        "Enter the code in the voucher field at checkout.",
        &["where do I enter my promo code", "apply a coupon"],
    ),
    (
        "discount-student",
        "Do you offer a student discount?",
        "Students get 10 percent off after verifying with their student email.",
        &["student discount", "discount for students"],
    ),
    (
        "gift-card",
        "Do you sell gift cards?",
        "Gift cards from 10 to 200 euros are sold online and never expire.",
        &["can I buy a voucher as a present", "gift voucher"],
    ),
    (
        "stock",
        "Will a sold out item be restocked?",
        "Click Notify me on the product page to get an email when it is back.",
        &["when is this back in stock", "item out of stock"],
    ),
    (
        "price-match",
        "Do you price match?",
        "We do not match other shops' prices.",
        &["will you match a lower price", "price guarantee"],
    ),
    (
        "contact",
        "How can I contact customer service?",
        "Email help@shop.example or call us on weekdays from 9 to 18.",
        &["customer service phone number", "how do I reach support"],
    ),
    (
        "store",
        "Do you have physical stores?",
        "We sell online only.",
        &["is there a shop I can visit", "store locations"],
    ),
    (
        "care",
        "How should I wash my clothes?",
        "Follow the care label; most items wash at 30 degrees.",
        &["washing instructions", "can I put this in the dryer"],
    ),
    (
        "warranty",
        "What warranty do products have?",
        "All products carry a two year warranty against defects.",
        &["is there a guarantee on products", "warranty period"],
    ),
    (
        "vat",
        "Are prices including VAT?",
        "All prices include VAT.",
        &["do prices include tax", "is tax added at checkout"],
    ),
];

/// Questions no entry answers.
const UNANSWERABLE: &[&str] = &[
    "What is the weather like in Paris tomorrow?",
    "Who won the football match yesterday?",
    "Can you recommend a good pizza recipe?",
    "What time does the train to Berlin leave?",
    "How tall is Mount Everest?",
    "Tell me a joke about cats",
    "Which planet is closest to the sun?",
    "How do I learn to play the guitar?",
    "What is the capital of Australia?",
    "Translate hello into Japanese",
    "How many legs does a spider have?",
    "Best movies of the last decade",
];

/// Writes `faq.csv` (`id,question,answer`, in a seeded order) and `truth/faq_questions.csv`
/// (`question,faq_id,kind`): every FAQ question as written (`exact`), one seeded paraphrase
/// per entry (`paraphrase`), and the unanswerable questions (`unanswerable`, empty `faq_id`),
/// shuffled. Returns the row counts of the two files.
pub(crate) fn write_faq(seed: u64, dir: &Path) -> Result<(u64, u64), SimError> {
    let mut rng = stream_rng(seed, Stream::Faq);
    let mut order: Vec<usize> = (0..ENTRIES.len()).collect();
    order.shuffle(&mut rng);
    let mut faq = Table::create(dir, "faq.csv", &["id", "question", "answer"])?;
    for &i in &order {
        let (id, question, answer, _) = ENTRIES[i];
        faq.write([id, question, answer])?;
    }
    let faq_rows = faq.finish()?;

    let mut asked: Vec<(&str, &str, &str)> = Vec::new();
    for &(id, question, _, paraphrases) in ENTRIES {
        asked.push((question, id, "exact"));
        let paraphrase = paraphrases[index(&mut rng, paraphrases.len())];
        asked.push((paraphrase, id, "paraphrase"));
    }
    asked.extend(UNANSWERABLE.iter().map(|&q| (q, "", "unanswerable")));
    asked.shuffle(&mut rng);
    let mut questions = Table::create(
        &dir.join("truth"),
        "faq_questions.csv",
        &["question", "faq_id", "kind"],
    )?;
    for (question, id, kind) in asked {
        questions.write([question, id, kind])?;
    }
    Ok((faq_rows, questions.finish()?))
}
