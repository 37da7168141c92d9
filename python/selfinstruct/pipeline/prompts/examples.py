"""Our own few-shot examples for steps 2 and 3 (the structure is the paper's, the text is ours).

- CLF_EXAMPLES: 31 (instruction, is_classification) pairs, 12 yes and 19 no, interleaved.
- INPUT_FIRST_DEMOS: 11 demonstrations for non-classification tasks: the body after "Task: ..." is
  either "Output: ..." (no input needed) or "Example N" blocks of input fields then "Output: ...".
- OUTPUT_FIRST_DEMOS: 16 demonstrations for classification tasks: "Class label: ..." each followed
  by an input, so the model writes inputs for every label instead of inputs biased to one.
"""
from __future__ import annotations

CLF_EXAMPLES: tuple[tuple[str, bool], ...] = (
    ("Decide whether the given restaurant review is positive or negative.", True),
    ("Write a short poem about the first snow of winter.", False),
    ("Summarize the paragraph below in one sentence.", False),
    ("Tell me if the following email is spam or not spam.", True),
    ("Suggest three names for a new coffee shop.", False),
    ("Translate the following sentence into French.", False),
    ("Which of the three sections (sports, politics, technology) does this news headline belong to?", True),
    ("Explain how a rainbow forms to a ten-year-old.", False),
    ("Is the following statement true or false?", True),
    ("Give me a recipe for a vegetarian lunch that takes under 20 minutes.", False),
    ("Rewrite this sentence so that it sounds more polite.", False),
    ("Say whether the sentence is written in the past, present, or future tense.", True),
    ("What are some good ways to save money on groceries?", False),
    ("Solve the equation and show your steps: 3x + 7 = 22.", False),
    ("Determine if the two sentences below mean the same thing.", True),
    ("Create a packing list for a weekend camping trip.", False),
    ("Label the tone of this message as formal or informal.", True),
    ("Convert the given temperature from Fahrenheit to Celsius.", False),
    ("List the main causes of the French Revolution.", False),
    ("Does the given number divide evenly by 3? Answer yes or no.", True),
    ("Write a Python function that reverses a string.", False),
    ("Plan a one-day itinerary for a visit to Rome.", False),
    ("Predict whether the customer in this conversation is satisfied or unsatisfied.", True),
    ("Answer the question based on the passage below.", False),
    ("Generate a catchy slogan for a bicycle shop.", False),
    ("Find out whether the following argument contains a logical fallacy.", True),
    ("Correct the grammar mistakes in the following text.", False),
    ("Which emotion best describes this tweet: joy, anger, sadness, or fear?", True),
    ("Describe the taste of a mango to someone who has never had one.", False),
    ("Choose the word that does not belong in the list.", True),
    ("Extract all the dates mentioned in the text.", False),
)

INPUT_FIRST_DEMOS: tuple[tuple[str, str], ...] = (
    (
        "Suggest a few stretches to do after a long day of sitting at a desk.",
        "Output:\n"
        "- Neck rolls: slowly roll your head in circles, five times each way.\n"
        "- Chest opener: clasp your hands behind your back and lift them gently.\n"
        "- Seated twist: sit tall, turn your upper body to one side and hold for 20 seconds.",
    ),
    (
        "Find all the numbers mentioned in the sentence and add them up.",
        "Example 1\nSentence: I bought 3 apples, 4 pears and 10 grapes.\nOutput: 17\n"
        "Example 2\nSentence: The team scored 2 goals in the first half and 1 in the second.\nOutput: 3",
    ),
    ("Convert 5 kilometers to miles.", "Output: 5 kilometers is about 3.11 miles."),
    (
        "Rewrite the sentence in the passive voice.",
        "Example 1\nSentence: The chef cooked a delicious meal.\nOutput: A delicious meal was cooked by the chef.\n"
        "Example 2\nSentence: Maria painted the fence last weekend.\nOutput: The fence was painted by Maria last weekend.",
    ),
    (
        "Write a haiku about the ocean.",
        "Output:\nWaves fold into foam\nsalt wind carries gull voices\nthe tide keeps its time",
    ),
    (
        "Answer the question using the given table.",
        "Example 1\nTable:\n| City | Population |\n| Lyon | 0.5 million |\n| Paris | 2.1 million |\n"
        "Question: Which city has more people?\nOutput: Paris, with 2.1 million people against 0.5 million in Lyon.",
    ),
    (
        "Explain the difference between weather and climate.",
        "Output: Weather is the state of the air at one place and time, like today's rain or heat. "
        "Climate is the usual pattern of weather in a region over many years.",
    ),
    (
        "Given a word, give a synonym and an antonym.",
        "Example 1\nWord: brave\nOutput: Synonym: courageous. Antonym: cowardly.\n"
        "Example 2\nWord: ancient\nOutput: Synonym: old. Antonym: modern.\n"
        "Example 3\nWord: generous\nOutput: Synonym: giving. Antonym: stingy.",
    ),
    (
        "Write a Python function that checks whether a number is prime.",
        "Output:\ndef is_prime(n):\n    if n < 2:\n        return False\n"
        "    for d in range(2, int(n ** 0.5) + 1):\n        if n % d == 0:\n            return False\n"
        "    return True",
    ),
    (
        "Summarize the text in one sentence.",
        "Example 1\nText: The city council met on Tuesday to discuss the new bike lanes. After two hours of debate, "
        "members voted seven to two to build lanes on three main streets by next summer.\n"
        "Output: The city council voted to build bike lanes on three main streets by next summer.",
    ),
    (
        "Write a short message to a colleague asking to move a meeting.",
        "Example 1\nColleague: Priya\nMeeting: Thursday at 10am\n"
        "Output: Hi Priya, could we move our Thursday 10am meeting to the afternoon? Something came up in the "
        "morning. Thanks, Sam",
    ),
)

OUTPUT_FIRST_DEMOS: tuple[tuple[str, str], ...] = (
    (
        "Decide whether the review is positive or negative.",
        "Class label: Positive\nReview: The staff were friendly and my pasta came out hot and fresh.\n"
        "Class label: Negative\nReview: We waited an hour for cold soup and nobody apologized.",
    ),
    (
        "Tell whether the email is spam or not spam.",
        "Class label: Spam\nEmail: Congratulations! You won a free cruise. Reply with your card number to claim it.\n"
        "Class label: Not spam\nEmail: Hi Tom, the slides for tomorrow's meeting are attached. Tell me if anything "
        "is missing.",
    ),
    (
        "Is the statement true or false?",
        "Class label: True\nStatement: Water boils at 100 degrees Celsius at sea level.\n"
        "Class label: False\nStatement: The Sun goes around the Earth once a day.",
    ),
    (
        "Identify the tense of the sentence: past, present, or future.",
        "Class label: Past\nSentence: She walked to school.\nClass label: Present\nSentence: She walks to school.\n"
        "Class label: Future\nSentence: She will walk to school.",
    ),
    ("Which planet is closest to the Sun? (a) Venus (b) Mercury (c) Mars", "Class label: (b)"),
    (
        "Classify the news headline as sports, politics, or technology.",
        "Class label: Sports\nHeadline: Local team wins the regional basketball final in overtime\n"
        "Class label: Politics\nHeadline: Parliament passes the new budget after a long debate\n"
        "Class label: Technology\nHeadline: New phone battery lasts a full week on one charge",
    ),
    (
        "Do the two sentences have the same meaning? Answer yes or no.",
        "Class label: Yes\nSentence 1: The shop opens at nine.\nSentence 2: The store starts business at 9 o'clock.\n"
        "Class label: No\nSentence 1: The shop opens at nine.\nSentence 2: The shop closes at nine.",
    ),
    (
        "Label the message as formal or informal.",
        "Class label: Formal\nMessage: Dear Dr. Lee, I am writing to request an extension for my report.\n"
        "Class label: Informal\nMessage: hey, can u send me the notes from class? thx",
    ),
    ("Is the number even or odd?", "Class label: Even\nNumber: 48\nClass label: Odd\nNumber: 17"),
    (
        "Detect the emotion of the tweet: joy, anger, sadness, or fear.",
        "Class label: Joy\nTweet: Just got the keys to our first house!!!\n"
        "Class label: Anger\nTweet: Third time this week the train is late and nobody tells us why.\n"
        "Class label: Sadness\nTweet: Said goodbye to my old dog today. The house feels empty.\n"
        "Class label: Fear\nTweet: Heard footsteps downstairs and everyone else is asleep...",
    ),
    (
        "Does the argument contain a logical fallacy? Answer Yes or No.",
        "Class label: Yes\nArgument: Everyone I know likes this movie, so it must be the best movie ever made.\n"
        "Class label: No\nArgument: All metals conduct electricity. Copper is a metal. So copper conducts electricity.",
    ),
    (
        "Tell me which language the sentence is written in.",
        "Class label: Spanish\nSentence: ¿Dónde está la biblioteca?\nClass label: German\nSentence: Ich habe heute "
        "keine Zeit.",
    ),
    (
        "Would the customer who wrote this message be satisfied or unsatisfied?",
        "Class label: Satisfied\nMessage: The package arrived a day early and everything works perfectly.\n"
        "Class label: Unsatisfied\nMessage: The charger stopped working after two days and support never answered.",
    ),
    (
        "Decide if the word is a noun, a verb, or an adjective.",
        "Class label: Noun\nWord: mountain\nClass label: Verb\nWord: whisper\nClass label: Adjective\nWord: gentle",
    ),
    (
        "Is the given animal a mammal, a bird, or a reptile?",
        "Class label: Mammal\nAnimal: dolphin\nClass label: Bird\nAnimal: penguin\nClass label: Reptile\n"
        "Animal: iguana",
    ),
    ("Choose the word that does not belong: apple, banana, carrot, cherry.", "Class label: carrot"),
)
