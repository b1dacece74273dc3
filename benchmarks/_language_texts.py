"""A small multilingual test set for language detection, written for this project.

Each entry is ``(text, expected, kind)``: ``expected`` is the lower-case
English name of the language, ``kind`` one of

- ``"greeting"``: a greeting or filler turn ("hello?", "ok thanks"); no
  language is an acceptable answer, a wrong one is not;
- ``"short"``: a one-line request of a few words;
- ``"long"``: two or more sentences;
- ``"mixed"``: code, URLs, names or another language mixed into the text;
  ``expected`` is the language of the prose around them.

Written for the benchmark (no corpus was copied); the same texts may be
quoted in the tests.
"""

TEXTS = [
    # --- English chat openers: the cases the hand-written detector got wrong
    ("Hello Hey whats up!", "english", "greeting"),
    ("hi is anyone there?", "english", "greeting"),
    ("hello?", "english", "greeting"),
    ("helloooo", "english", "greeting"),
    ("ok thanks", "english", "greeting"),
    ("lol", "english", "greeting"),
    ("yo what's good", "english", "greeting"),
    ("thank you so much!!", "english", "greeting"),
    ("good morning", "english", "greeting"),
    ("hey can u help me", "english", "greeting"),
    ("nah that's fine", "english", "greeting"),
    ("wait what", "english", "greeting"),
    ("i need help with my homework", "english", "short"),
    ("whats the capital of australia", "english", "short"),
    ("write me a poem about my cat", "english", "short"),
    ("how long do i boil an egg", "english", "short"),
    ("Can you recommend a good sci-fi book?", "english", "short"),
    ("my landlord won't return my deposit what do i do", "english", "short"),
    ("is it safe to take ibuprofen with coffee", "english", "short"),
    ("Fix my resume please", "english", "short"),
    (
        "I'm planning a trip to Japan in April with my parents. They can't walk "
        "very far, so I need an itinerary with short distances and plenty of "
        "places to sit down.",
        "english",
        "long",
    ),
    (
        "My team lead keeps scheduling meetings at 6pm and I have to pick up my "
        "kids. How do I bring this up without sounding like I'm not committed?",
        "english",
        "long",
    ),
    # --- Spanish
    ("hola", "spanish", "greeting"),
    ("buenas tardes!", "spanish", "greeting"),
    ("¿Cómo puedo preparar una tortilla de patatas?", "spanish", "short"),
    ("necesito ayuda con mi tarea de física", "spanish", "short"),
    (
        "Quiero aprender a tocar la guitarra pero tengo muy poco tiempo libre. "
        "¿Cuántos minutos al día debería practicar para notar progreso?",
        "spanish",
        "long",
    ),
    # --- French
    ("bonjour", "french", "greeting"),
    ("merci beaucoup", "french", "greeting"),
    ("Comment améliorer mon CV pour un poste de comptable ?", "french", "short"),
    ("peux-tu m'expliquer la photosynthèse", "french", "short"),
    (
        "Mon propriétaire refuse de réparer le chauffage depuis trois semaines. "
        "Quels sont mes droits et comment lui écrire une lettre ferme mais polie ?",
        "french",
        "long",
    ),
    # --- German
    ("hallo", "german", "greeting"),
    ("danke schön", "german", "greeting"),
    ("Wie kann ich meine Steuererklärung online machen?", "german", "short"),
    ("schreib mir bitte eine kurze Geburtstagskarte", "german", "short"),
    (
        "Ich fange nächste Woche einen neuen Job an und bin ziemlich nervös. "
        "Hast du Tipps, wie ich in den ersten Tagen einen guten Eindruck mache?",
        "german",
        "long",
    ),
    # --- Portuguese
    ("olá, tudo bem?", "portuguese", "greeting"),
    ("obrigado", "portuguese", "greeting"),
    ("Como faço um bolo de cenoura sem ovos?", "portuguese", "short"),
    ("preciso de ajuda para escrever um e-mail ao meu chefe", "portuguese", "short"),
    (
        "Estou pensando em mudar de carreira e estudar programação, mas tenho "
        "quarenta anos. Você acha que ainda vale a pena começar agora?",
        "portuguese",
        "long",
    ),
    # --- Italian
    ("ciao", "italian", "greeting"),
    ("grazie mille", "italian", "greeting"),
    ("Come si prepara il ragù alla bolognese?", "italian", "short"),
    ("mi puoi aiutare a scrivere una lettera di dimissioni", "italian", "short"),
    (
        "Vorrei organizzare una festa a sorpresa per mia sorella, ma abitiamo in "
        "città diverse. Hai qualche idea per coinvolgere i suoi amici?",
        "italian",
        "long",
    ),
    # --- Dutch
    ("hoi", "dutch", "greeting"),
    ("Hoe lang moet ik een ei koken?", "dutch", "short"),
    ("kun je mijn sollicitatiebrief nakijken", "dutch", "short"),
    (
        "Mijn hond blaft de hele dag als ik naar mijn werk ga. De buren klagen "
        "al. Wat kan ik doen om hem rustiger te maken?",
        "dutch",
        "long",
    ),
    # --- Russian
    ("привет", "russian", "greeting"),
    ("Как приготовить борщ дома?", "russian", "short"),
    ("помоги написать резюме", "russian", "short"),
    (
        "Я хочу выучить английский язык за полгода. Составь, пожалуйста, план "
        "занятий на каждый день с упражнениями и книгами.",
        "russian",
        "long",
    ),
    # --- Ukrainian
    ("привіт", "ukrainian", "greeting"),
    ("Як правильно заварити зелений чай?", "ukrainian", "short"),
    (
        "Мені потрібно написати листа до університету. Допоможи, будь ласка, "
        "сформулювати прохання про відстрочку іспиту.",
        "ukrainian",
        "long",
    ),
    # --- Polish
    ("cześć", "polish", "greeting"),
    ("Jak napisać dobre CV po polsku?", "polish", "short"),
    (
        "Chcę zacząć biegać, ale boli mnie kolano po kilku minutach. Czy "
        "powinienem iść do lekarza, czy po prostu zmienić buty?",
        "polish",
        "long",
    ),
    # --- Turkish
    ("merhaba", "turkish", "greeting"),
    ("Evde ekmek nasıl yapılır?", "turkish", "short"),
    (
        "Yarın önemli bir iş görüşmem var ve çok heyecanlıyım. Bana en sık "
        "sorulan soruları ve iyi cevapları söyler misin?",
        "turkish",
        "long",
    ),
    # --- Swedish
    ("hej", "swedish", "greeting"),
    ("Hur lagar man köttbullar?", "swedish", "short"),
    (
        "Jag ska flytta till Stockholm i höst och behöver hitta en lägenhet. "
        "Vilka områden är bra för en student med liten budget?",
        "swedish",
        "long",
    ),
    # --- Chinese
    ("你好", "chinese", "greeting"),
    ("如何学习机器学习？", "chinese", "short"),
    ("帮我写一封辞职信", "chinese", "short"),
    (
        "我下个月要去北京出差，想顺便参观几个博物馆。你能推荐一些适合一天内"
        "参观的地方吗？",
        "chinese",
        "long",
    ),
    # --- Japanese
    ("こんにちは", "japanese", "greeting"),
    ("美味しいカレーの作り方を教えて", "japanese", "short"),
    (
        "来週、上司にプレゼンをしなければなりません。緊張しないためのコツと、"
        "分かりやすいスライドの作り方を教えてください。",
        "japanese",
        "long",
    ),
    # --- Korean
    ("안녕하세요", "korean", "greeting"),
    ("김치찌개 만드는 법 알려줘", "korean", "short"),
    (
        "다음 달에 부모님과 제주도 여행을 가려고 합니다. 걷기 힘드신 분들을 "
        "위한 일정을 짜 주세요.",
        "korean",
        "long",
    ),
    # --- Arabic
    ("مرحبا", "arabic", "greeting"),
    ("كيف أتعلم البرمجة بسرعة؟", "arabic", "short"),
    (
        "أريد أن أكتب رسالة إلى مديري أطلب فيها إجازة لمدة أسبوع. هل يمكنك "
        "مساعدتي في صياغتها بشكل مهذب؟",
        "arabic",
        "long",
    ),
    # --- Hindi
    ("नमस्ते", "hindi", "greeting"),
    ("मुझे हिंदी में एक कविता लिखकर दो", "hindi", "short"),
    (
        "मैं अगले महीने नौकरी के लिए इंटरव्यू देने जा रहा हूँ। कृपया मुझे तैयारी के कुछ अच्छे तरीके बताइए।",
        "hindi",
        "long",
    ),
    # --- Vietnamese
    ("xin chào", "vietnamese", "greeting"),
    ("Làm thế nào để nấu phở bò?", "vietnamese", "short"),
    (
        "Tôi muốn học tiếng Anh để đi du học. Bạn có thể gợi ý một kế hoạch "
        "học trong sáu tháng không?",
        "vietnamese",
        "long",
    ),
    # --- Indonesian
    ("halo", "indonesian", "greeting"),
    ("Bagaimana cara membuat nasi goreng?", "indonesian", "short"),
    (
        "Saya ingin memulai usaha kecil berjualan kue dari rumah. Apa saja "
        "yang harus saya siapkan terlebih dahulu?",
        "indonesian",
        "long",
    ),
    # --- Greek and Hebrew
    ("Πώς μπορώ να μάθω ελληνικά γρήγορα;", "greek", "short"),
    ("איך מכינים שקשוקה?", "hebrew", "short"),
    # --- Mixed: code, names, URLs, a quoted phrase in another language
    (
        "Fix this error in my python code: TypeError: 'NoneType' object is not "
        "subscriptable",
        "english",
        "mixed",
    ),
    ("why does git push say rejected non-fast-forward", "english", "mixed"),
    (
        "how do I say 'buenos días' and 'hasta luego' to my Spanish neighbours",
        "english",
        "mixed",
    ),
    ("What does 'carpe diem' mean?", "english", "mixed"),
    (
        "¿Por qué mi función de Python devuelve None? def suma(a, b): print(a + b)",
        "spanish",
        "mixed",
    ),
    (
        "Kannst du diese SQL-Abfrage erklären: SELECT name FROM users WHERE "
        "age > 30 ORDER BY name",
        "german",
        "mixed",
    ),
    (
        "Je n'arrive pas à installer numpy avec pip install numpy, j'ai une "
        "erreur de compilation.",
        "french",
        "mixed",
    ),
    (
        "このエラーの意味は何ですか: ModuleNotFoundError: No module named 'pandas'",
        "japanese",
        "mixed",
    ),
    ("Translate to French: I would like a table for two", "english", "mixed"),
    (
        "Book me a table at Trattoria da Enzo in Trastevere for Friday",
        "english",
        "mixed",
    ),
]
