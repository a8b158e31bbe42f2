"""The regularized incomplete gamma functions P(a, x) (torch.special.gammainc, torch.igamma)
and Q(a, x) = 1 - P(a, x) (gammaincc, igammac), in portable Array API code with fixed
iteration counts (no host syncs).

Regions (a > 0, x > 0):

* a > 20 and |x - a| < 0.3 a: Temme's uniform expansion (N. M. Temme, "The asymptotic
  expansion of the incomplete gamma functions", SIAM J. Math. Anal. 10 (1979)):
  Q = erfc(eta sqrt(a/2))/2 + e^(-a eta^2/2)/sqrt(2 pi a) sum_k C_k(eta) a^-k, with
  eta^2/2 = lambda - 1 - log lambda, lambda = x/a. The C_k are Taylor series in eta, whose
  coefficients (25 x 25, in _TEMME) were computed in exact rational arithmetic from
  C_0 = 1/(lambda - 1) - 1/eta and C_k = C_(k-1)'/eta + (-1)^k g_k/(lambda - 1), g_k the
  coefficients of Stirling's series of Gamma(a) / (sqrt(2 pi/a) (a/e)^a).
* x > 1 and x > a (and outside the band above): Legendre's continued fraction for Q
  (A&S 6.5.31), evaluated bottom-up from a fixed depth.
* otherwise: the power series P = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a+1)...(a+n))
  (A&S 6.5.29); where x <= 1.1 and a is small, Q = 1 - x^a/Gamma(a+1) (1 + a sum_n>=1
  (-x)^n / (n! (a + n))) keeps Q's digits when P is near 1.

The prefactor x^a e^-x / Gamma(a + 1) is e^(-a (mu - log1p mu)) / (sqrt(2 pi a) Gamma*(a))
for a >= 10 (mu = x/a - 1, Gamma* by Stirling's series), so it keeps its relative accuracy
for large a. dP/dx = x^(a-1) e^-x / Gamma(a) = -dQ/dx; PyTorch has no derivative in a.
Edges as PyTorch: NaN for a < 0 or x < 0, P(0, x > 0) = 1, P(0, 0) = NaN, P(a, 0) = 0,
P(inf, x finite) = 0, P(a, inf) = 1, P(inf, inf) = NaN.
"""
from __future__ import annotations

import math

from .._errors import DtypeNotImplemented
from ..autograd import Function
from .elementwise import _floating, promote, quiet, unbroadcast
from .special import lgamma_array
from .special_more import _erfc

_SERIES_TERMS = 120   # x <= a: the ratio x/(a+n) <= 0.7 outside Temme's band
_FRACTION_DEPTH = 200
_TEMME_FROM = 20.0
_TEMME_BAND = 0.3
# B_2j / (2j (2j - 1)), j = 1..8: log Gamma*(a) = sum_j c_j a^(1 - 2j), to 2e-18 from a = 10
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156,
             -3617 / 122400)
_STIRLING_FROM = 10.0

# Temme's C_k(eta) = sum_n d[k][n] eta^n, k, n = 0..24 (generated in exact rational
# arithmetic, see the module docstring; rounded to float64)
_TEMME = (
    (-0.3333333333333333, 0.08333333333333333, -0.014814814814814815, 0.0011574074074074073,
     0.0003527336860670194, -0.0001787551440329218, 3.919263178522438e-05,
     -2.185448510679992e-06, -1.85406221071516e-06, 8.296711340953087e-07,
     -1.7665952736826078e-07, 6.707853543401498e-09, 1.0261809784240309e-08,
     -4.382036018453353e-09, 9.14769958223679e-10, -2.5514193994946248e-11,
     -5.830772132550426e-11, 2.4361948020667415e-11, -5.0276692801141755e-12,
     1.1004392031956135e-13, 3.371763262400985e-13, -1.392388722418162e-13,
     2.8534893807047445e-14, -5.139111834242572e-16, -1.9752288294349442e-15),
    (-0.001851851851851852, -0.003472222222222222, 0.0026455026455026454,
     -0.0009902263374485596, 0.00020576131687242798, -4.018775720164609e-07,
     -1.8098550334489977e-05, 7.64916091608111e-06, -1.6120900894563446e-06,
     4.647127802807434e-09, 1.378633446915721e-07, -5.752545603517705e-08,
     1.1951628599778148e-08, -1.7543241719747647e-11, -1.0091543710600413e-09,
     4.162792991842583e-10, -8.56390702649298e-11, 6.067215101604758e-14,
     7.1624989648114856e-12, -2.933186643771437e-12, 5.996696365683689e-13,
     -2.1671786527323313e-16, -4.978339972369262e-14, 2.0291628823713425e-14,
     -4.13125571381061e-15),
    (0.004133597883597883, -0.0026813271604938273, 0.0007716049382716049,
     2.0093878600823047e-06, -0.0001073665322636516, 5.2923448829120125e-05,
     -1.2760635188618728e-05, 3.423578734096138e-08, 1.3721957309062934e-06,
     -6.298992138380055e-07, 1.4280614206064242e-07, -2.0477098421990866e-10,
     -1.409252991086752e-08, 6.228974084922022e-09, -1.3670488396617114e-09,
     9.428356159014678e-13, 1.2872252400089318e-10, -5.5645956134363323e-11,
     1.197593554636698e-11, -4.1689782251838634e-15, -1.0940640427884595e-12,
     4.662239946390136e-13, -9.905105763906907e-14, 1.8931876768373515e-17,
     8.859221872591127e-15),
    (0.0006494341563786008, 0.00022947209362139917, -0.0004691894943952557,
     0.00026772063206283885, -7.561801671883977e-05, -2.396505113867297e-07,
     1.1082654115347302e-05, -5.6749528269915965e-06, 1.4230900732435883e-06,
     -2.7861080291528143e-11, -1.6958404091930278e-07, 8.099464905388083e-08,
     -1.9111168485973655e-08, 2.3928620439808118e-12, 2.0620131815488797e-09,
     -9.460496661855133e-10, 2.1541049775774907e-10, -1.388823336813903e-14,
     -2.1894761681963938e-11, 9.790998951171684e-12, -2.178219188018096e-12,
     6.208819573407901e-17, 2.126978363279737e-13, -9.344688791517433e-14,
     2.045367122678285e-14),
    (-0.0008618882909167117, 0.0007840392217200666, -0.0002990724803031902,
     -1.4638452578843418e-06, 6.641498215465122e-05, -3.968365047179435e-05,
     1.1375726970678419e-05, 2.507497226237533e-10, -1.6954149536558305e-06,
     8.907507532205309e-07, -2.292934834000805e-07, 2.956794137544049e-11,
     2.8865829742708783e-08, -1.4189739437803219e-08, 3.4463580499464896e-09,
     -2.3024517174528067e-13, -3.9409233028046403e-10, 1.86023389685045e-10,
     -4.356323005056618e-11, 1.278600101629623e-15, 4.67927502665792e-12,
     -2.149246470613483e-12, 4.908815614809652e-13, -6.33859148489156e-18,
     -5.045332069080094e-14),
    (-0.00033679855336635813, -6.972813758365857e-05, 0.0002772753244959392,
     -0.00019932570516188847, 6.797780477937208e-05, 1.419062920643967e-07,
     -1.3594048189768693e-05, 8.018470256334202e-06, -2.291481176508095e-06,
     -3.252473551298454e-10, 3.4652846491085265e-07, -1.8447187191171344e-07,
     4.8240967037894184e-08, -1.7989466721743514e-14, -6.306194500013523e-09,
     3.162417628774568e-09, -7.840924253697429e-10, 5.192679165254041e-15,
     9.358944242306784e-11, -4.513426216163278e-11, 1.0799129993116828e-11,
     -3.661886712685252e-17, -1.210902069055155e-12, 5.680743584990564e-13,
     -1.3249659916340829e-13),
    (0.0005313079364639922, -0.0005921664373536939, 0.0002708782096718045,
     7.902353232660328e-07, -8.153969367561969e-05, 5.61168275310625e-05,
     -1.8329116582843375e-05, -3.0796134506033047e-09, 3.465155368803609e-06,
     -2.0291327396058603e-06, 5.788792863149004e-07, 2.338630673826657e-13,
     -8.828600746330484e-08, 4.7435958880408125e-08, -1.2545415020710383e-08,
     8.649648858010293e-14, 1.6846058979264062e-09, -8.575492823577594e-10,
     2.1598224929232125e-10, -7.613230520476153e-16, -2.6639822008536144e-11,
     1.3065700536611057e-11, -3.1799163902367977e-12, 4.710976121367431e-18,
     3.6902800842763465e-13),
    (0.00034436760689237765, 5.171790908260592e-05, -0.00033493161081142234,
     0.0002812695154763237, -0.00010976582244684731, -1.2741009095484485e-07,
     2.7744451511563645e-05, -1.8263488805711332e-05, 5.7876949497350525e-06,
     4.93875893393627e-10, -1.0595367014026043e-06, 6.166714376110408e-07,
     -1.7562973359060463e-07, -1.297447328701544e-12, 2.695423606288966e-08,
     -1.4578352908731272e-08, 3.887645959386175e-09, -3.881002251019412e-17,
     -5.327994173877286e-10, 2.7437977643314844e-10, -6.995796092070568e-11,
     2.589986387486848e-17, 8.856689099669639e-12, -4.403168815871311e-12,
     1.0865561947091654e-12),
    (-0.0006526239185953094, 0.0008394987206720873, -0.000438297098541721,
     -6.969091458420552e-07, 0.00016644846642067547, -0.00012783517679769218,
     4.629953263691304e-05, 4.557909867922708e-09, -1.0595271125805195e-05,
     6.783342904865167e-06, -2.1075476666258803e-06, -1.7213731432817144e-11,
     3.773587741611098e-07, -2.1867506700122867e-07, 6.220228804018927e-08,
     6.597703826733e-16, -9.590386497425686e-09, 5.213214492280807e-09,
     -1.3991589583935709e-09, 5.382058999060575e-16, 1.9484714275467745e-10,
     -1.0127287556389682e-10, 2.6077347197254926e-11, -5.090418699993299e-18,
     -3.3721464474854593e-12),
    (-0.0005967612901927463, -7.204895416020011e-05, 0.0006782308837667328,
     -0.0006401475260262758, 0.00027750107634328704, 1.819700838046515e-07,
     -8.479507117068503e-05, 6.105192082501531e-05, -2.1073920183404862e-05,
     -8.858589014125599e-10, 4.5284535953805374e-06, -2.8427815022504407e-06,
     8.708234177864641e-07, 3.6886101871706966e-12, -1.534469519070206e-07,
     8.862466778790695e-08, -2.5184812301826817e-08, -1.0225912098215092e-14,
     3.896947075815478e-09, -2.1267304792235634e-09, 5.737013552805138e-10,
     -1.8877498501697116e-19, -8.093153869465787e-11, 4.23827232834492e-11,
     -1.1002224534207725e-11),
    (0.0013324454494800656, -0.0019144384985654776, 0.0011089369134596636,
     9.9324041226423e-07, -0.0005087450129309319, 0.00042735056665392886,
     -0.00016858853767910798, -8.1301893922785e-09, 4.5284402370562144e-05,
     -3.127053674781734e-05, 1.044986828530338e-05, 4.8435226265680926e-11,
     -2.148256587345626e-06, 1.329369701097492e-06, -4.029569309210103e-07,
     -1.756787766632329e-13, 7.014504316366825e-08, -4.040787734999483e-08,
     1.1474026743371964e-08, 3.964274685356394e-18, -1.7804938269892715e-09,
     9.748026254873165e-10, -2.6405338676507616e-10, 5.79487516340376e-18,
     3.764774955354384e-11),
    (0.001579727660730835, 0.00016251626278391583, -0.0020633421035543276,
     0.00213896861856891, -0.0010108559391263003, -3.99127055299192e-07,
     0.0003623502508476469, -0.00028143901463712157, 0.00010449513336495887,
     2.12114184918303e-09, -2.5779417251947842e-05, 1.7281818956040464e-05,
     -5.641377387290428e-06, -1.1024320105776174e-11, 1.1223224418895174e-06,
     -6.869339637952674e-07, 2.0653236975414888e-07, 4.6714772409838506e-14,
     -3.5609886164949055e-08, 2.0470855345905963e-08, -5.809173863328336e-09,
     -1.3328212875828647e-16, 9.035460439133513e-10, -4.959878251733084e-10,
     1.3481607129399748e-10),
    (-0.004072512119514016, 0.00640336283380807, -0.004041016108167662,
     -2.1837328028662328e-06, 0.002174044180125464, -0.001970044051841889,
     0.0008359546974796246, 1.9445447567109655e-08, -0.000257793871204217,
     0.00019009987368139304, -6.769649993743896e-05, -1.4440629666426571e-10,
     1.5712512518742267e-05, -1.0304008744776894e-05, 3.304517767401387e-06,
     7.982976024232571e-13, -6.4097794149313e-07, 3.8894624761300054e-07,
     -1.161834764494887e-07, -2.8168086305964423e-15, 1.9878012911297094e-08,
     -1.1407719956357511e-08, 3.2355857064185554e-09, 4.1759462466484876e-20,
     -5.042311271810582e-10),
    (-0.0059475779383993, -0.0005401647678926045, 0.00879104135507679,
     -0.009857631558785612, 0.005013469503102154, 1.2807521786221875e-06,
     -0.0020626019342754685, 0.0017109128573523059, -0.000676953127141338,
     -6.901154567656214e-09, 0.00018855128143995903, -0.0001339521566349197,
     4.626318303352804e-05, 4.003423061332135e-11, -1.0255652921494033e-05,
     6.612086372797651e-06, -2.0913022027253007e-06, -2.095177564960382e-13,
     3.975602904199325e-07, -2.395621197881589e-07, 7.118288338214586e-08,
     8.925574871713252e-16, -1.2101547235064677e-08, 6.935061824833439e-09,
     -1.966146445385609e-09),
    (0.01740202778752271, -0.02952788094569912, 0.020045875571402798,
     7.0289515966903405e-06, -0.012375421071343148, 0.011976293444235255,
     -0.0054156038466518525, -6.329089339641862e-08, 0.0018855118129005065,
     -0.001473473274825001, 0.0005551581009770838, 5.240683441255066e-10,
     -0.00014357913535784835, 9.91812932249433e-05, -3.346083474947831e-05,
     -3.5755837291098967e-12, 7.1560851960630075e-06, -4.551680262815553e-06,
     1.4236576649271474e-06, 1.8803149079275236e-14, -2.662340389892921e-07,
     1.5950642189595716e-07, -4.718751467384107e-08, -6.510781264821694e-17,
     7.979509102674677e-09),
    (0.03024912416090589, 0.0024817436002649977, -0.049939134373457025, 0.05991564300930787,
     -0.03248320760162339, -5.721296865210344e-06, 0.015085251778569354,
     -0.013261324005088445, 0.0055515262632426145, 3.026318225703001e-08,
     -0.0017229548406756724, 0.0012893570099929638, -0.00046845138348319875,
     -1.8302599378930445e-10, 0.00011449739014822654, -7.737856522124447e-05,
     2.5625836246985202e-05, 1.0766165332658074e-12, -5.324680928242262e-06,
     3.3496348630644643e-06, -1.038125312868401e-06, -5.608908533478749e-15,
     1.9150821930676722e-07, -1.1418365800203775e-07, 3.365442520915233e-08),
    (-0.09905102088015905, 0.17954011706123485, -0.12989606383463778,
     -3.1478872752284355e-05, 0.09051063527684813, -0.0928288244111844, 0.04441211283987781,
     2.7779236316835886e-07, -0.017229543805449696, 0.014182925050891573,
     -0.005621416163374734, -2.3959850918638095e-09, 0.0016029634366079909,
     -0.0011606784674435774, 0.00041001337768153875, 1.8365800753181603e-11,
     -9.58442565636559e-05, 6.364306233776471e-05, -2.0762506244890635e-05,
     -1.1806017999805486e-13, 4.213180823912094e-06, -2.6262241337013133e-06,
     8.077062049488396e-07, 5.996409690563338e-16, -1.47297373744462e-07),
    (-0.19994542198219728, -0.015056113040026424, 0.3647023946934849, -0.4643519231173355,
     0.26640934719197895, 3.403826602714719e-05, -0.13784338709329624, 0.1276467178337056,
     -0.056213828755200985, -1.7531508854830108e-07, 0.019235592956768112,
     -0.015088821281095316, 0.005740185445135012, 1.0622382710173866e-09,
     -0.0015335082692563998, 0.0010819320643228215, -0.0003737251019394563,
     -6.617090419433389e-12, 8.42636173809102e-05, -5.5150706827484874e-05,
     1.7769536448337793e-05, 3.879070571006568e-14, -3.5351369749902462e-06,
     2.1865832127706725e-06, -6.681284949240542e-07),
    (0.7243860850402943, -1.3918010932653375, 1.0654143352413967, 0.0001876173868950258,
     -0.827055011761527, 0.8935243334782841, -0.44971003995291337, -1.6107401567546651e-06,
     0.1923559016527109, -0.1659770216004261, 0.06888222268181433, 1.391009172443142e-08,
     -0.021469115615086628, 0.016228980898865892, -0.005979601617258422,
     -1.1287468171928069e-10, 0.001516745111978496, -0.0010478634293554165,
     0.00035539072889105875, 8.162616536150783e-13, -7.777301344470886e-05,
     5.029141389162907e-05, -1.6035083877747675e-05, -5.0260094840152135e-15,
     3.1369106037108428e-06),
    (1.6668949727276812, 0.1165462765994632, -3.3288393225018904, 4.469232548286404,
     -2.6977693045875806, -0.0002600667859891061, 1.5389017615694538, -1.4937962361134611,
     0.6888196463323315, 1.3077482004532885e-06, -0.2576296332559629, 0.2109767610212545,
     -0.08371440835921982, -7.792042747000674e-09, 0.024267923064833764,
     -0.017813678334552763, 0.006397033038886307, 4.9415957307924725e-11,
     -0.0015554602758916928, 0.0010561196918773697, -0.00035277184484116647,
     -3.0939103274354235e-13, 7.528585452877513e-05, -4.8186515801973e-05,
     1.5227272261135095e-05),
    (-6.618829886137293, 13.397985455142589, -10.789350606845145, -0.0014352254537875018,
     9.23336945961898, -10.456552819547769, 5.510552602903347, 1.2024439690699193e-05,
     -2.5762961164755818, 2.320744274538718, -1.0045728797216278, -1.0207833106546672e-07,
     0.33975092171169696, -0.26720517450758147, 0.10235252851556788, 8.430448585452676e-10,
     -0.02799828495925492, 0.020066274142830732, -0.007055436896237373,
     -6.510036896790042e-12, 0.0016562887995937561, -0.0011082898634291512,
     0.0003654545342639166, 4.504194082820455e-14, -7.634011300557932e-05),
    (-17.112706061976095, -1.1208044642899115, 37.131966511885445, -52.29827102534896,
     33.058589696624615, 0.0024791298976198995, -20.610894034115258, 20.886727751455822,
     -10.045703956517746, -1.2238783428880736e-05, 4.077013427422142, -3.473667358470283,
     1.4329352617303721, 7.135612771732799e-08, -0.4479725716041533, 0.34112666076996123,
     -0.12699786335106672, -4.5009172627885263e-10, 0.033125776059235765,
     -0.023274087133486544, 0.008039999749288682, 2.9014850241350154e-12,
     -0.0018321627125162138, 0.001210814074308124, -0.00039487195597625305),
    (73.89033153567425, -156.80141270402274, 132.2177542759164, 0.013692876877323932,
     -123.66496885920151, 146.2068939106273, -80.36558772486529, -0.00011259851130717249,
     40.770132196180214, -38.210340013274, 17.195222942763678, 9.351478525225111e-07,
     -6.271615990956665, 5.116899906638013, -2.0319658125917894, -7.68015576927279e-09,
     0.5962639690008922, -0.44220765550893937, 0.1607999949801386, 6.105452322399745e-11,
     -0.04030757967497879, 0.02784872370893079, -0.00947692694339809,
     -4.5311013227974904e-13, 0.002105335093633221),
    (212.1683709838252, 13.107863022633866, -496.9828593287175, 731.2159526696921,
     -482.13821720890815, -0.028817248691623405, 326.1672030294732, -343.89340280087987,
     171.9519387080629, 0.00014038023228364068, -75.25941959194343, 66.51969983809508,
     -28.44751976721878, -8.023117747524886e-07, 9.540223647451496, -7.51753014765263,
     2.894399900499762, 4.980023807118572e-09, -0.8061515942879215, 0.5848231979048016,
     -0.20849239270188827, -3.225438491326595e-11, 0.05052804225167161,
     -0.03441205280628807, 0.011560069800937042),
    (-989.5964309832236, 2192.555536090523, -1928.3586782723344, -0.1592573812157951,
     1956.9985945919989, -2407.2514765082165, 1375.6149959328543, 0.0012920686502737788,
     -752.5941716166408, 731.7166873438302, -341.37023489099647, -1.0517978697205148e-05,
     133.56313092981054, -112.76295215735033, 46.31039839600551, 8.49948412810344e-08,
     -14.510728696418298, 11.111640759871898, -4.169847853971864, -6.787845238126073e-10,
     1.1116169295323557, -0.7914772145428005, 0.277441675222115, 5.226168222780974e-12,
     -0.06531439992499116),
)


def _log_prefactor(xp, A, X):
    """log(x^a e^-x / Gamma(a + 1)) for a > 0, x > 0."""
    small = xp.minimum(A, _STIRLING_FROM)
    direct = small * xp.log(X) - X - lgamma_array(xp, small + 1)
    big = xp.maximum(A, _STIRLING_FROM)
    mu = (X - big) / big
    inv = 1 / big
    inv2 = inv * inv
    log_star = xp.zeros_like(big) + _STIRLING[-1]
    for c in _STIRLING[-2::-1]:
        log_star = log_star * inv2 + c
    log_star = log_star * inv
    # log(x/a) by log1p near 1, directly elsewhere (1 + mu would round x/a when x << a)
    log_ratio = xp.where(xp.abs(mu) < 0.5, xp.log1p(mu), xp.log(X / big))
    stirling = -big * (mu - log_ratio) - 0.5 * xp.log(2 * math.pi * big) - log_star
    return xp.where(A < _STIRLING_FROM, direct, stirling)


_POW_TO = 30.0   # x^a e^-x / Gamma(a+1) by pow and exp (no cancelling logs) for x <= 30, a < 10


def _prefactor(xp, A, X):
    """x^a e^-x / Gamma(a + 1) for a > 0, x > 0. For a < 10 and x <= 30 as pow(x, a) e^-x
    over Gamma(r + 1) (r + 1) ... (r + floor a), r = a - floor(a): no sum of logs of size ~10
    cancels (which costs float32 its last 4 bits); elsewhere exp(_log_prefactor)."""
    near = (A < _STIRLING_FROM) & (X <= _POW_TO)
    As = xp.where(near, A, xp.ones_like(A))
    Xs = xp.where(near, X, xp.ones_like(X))
    whole = xp.floor(As)
    r = As - whole
    G = xp.exp(lgamma_array(xp, r + 1))
    for j in range(1, int(_STIRLING_FROM)):
        G = xp.where(whole >= j, G * (r + j), G)
    direct = xp.pow(Xs, As) * xp.exp(-Xs) / G
    return xp.where(near, direct, xp.exp(_log_prefactor(xp, A, X)))


def _p_series(xp, A, X, D):
    """P by the power series (x <= a or x <= 1)."""
    term = xp.ones_like(X)
    total = term
    for n in range(1, _SERIES_TERMS):
        term = term * X / (A + n)
        total = total + term
    return D * total


def _q_small_x(xp, A, X):
    """Q for x <= 1.1 and small a, without 1 - P's cancellation."""
    term = xp.ones_like(X)
    total = xp.zeros_like(X)
    for n in range(1, 30):
        term = term * (-X) / n
        total = total + term / (A + n)
    logxa = A * xp.log(X) - lgamma_array(xp, A + 1)
    head = -xp.expm1(logxa)           # 1 - x^a / Gamma(a + 1)
    return head - xp.exp(logxa) * A * total


def _q_fraction(xp, A, X, D):
    """Q by Legendre's continued fraction (x > 1, x > a), a x^a e^-x/Gamma(a+1) / (x+1-a-
    1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...)))."""
    t = xp.zeros_like(X)
    for k in range(_FRACTION_DEPTH, 0, -1):
        t = k * (k - A) / (X + (2 * k + 1) - A - t)
    return A * D / (X + 1 - A - t)


def _temme(xp, A, X):
    """(R, eta) of Temme's expansion Q = erfc(eta sqrt(a/2))/2 + R, P = erfc(-eta
    sqrt(a/2))/2 - R, for a > 20 and |x/a - 1| < 0.3."""
    mu = (X - A) / A    # x - a is exact where x ~ a: one rounding, not x/a - 1's two
    eta2 = 2 * (mu - xp.log1p(mu))
    eta = xp.sqrt(xp.maximum(eta2, 0.0))
    eta = xp.where(mu < 0, -eta, eta)
    inv = 1 / A
    total = xp.zeros_like(X)
    for row in _TEMME[::-1]:
        c = xp.zeros_like(X) + row[-1]
        for d in row[-2::-1]:
            c = c * eta + d
        total = total * inv + c
    R = xp.exp(-0.5 * A * eta2) / xp.sqrt(2 * math.pi * A) * total
    return R, eta


def igamma_arrays(be, A, X):
    """(P(a, x), Q(a, x)) elementwise for arrays of one floating dtype (broadcast)."""
    xp = be.xp
    A, X = xp.broadcast_arrays(A, X)
    one = xp.ones_like(X)
    ok = (A > 0) & (X > 0) & ~xp.isinf(A) & ~xp.isinf(X)
    As = xp.where(ok, A, one)
    Xs = xp.where(ok, X, one)
    temme = (As > _TEMME_FROM) & (xp.abs(Xs - As) < _TEMME_BAND * As)
    frac = ~temme & (Xs > 1) & (Xs > As)
    # the series converges for x <= a or x <= 1: elsewhere it gets a harmless stand-in
    Xser = xp.where(frac, xp.minimum(As, one), Xs)
    P_ser = _p_series(xp, As, Xser, _prefactor(xp, As, Xser))
    # small x and a: Q's own series keeps the digits that 1 - P (P ~ 1) would lose
    small = (Xs <= 1.1) & xp.where(Xs <= 0.5, As * -xp.log(Xs) <= 0.4, As <= 1.1 * Xs)
    Q_ser = xp.where(small, _q_small_x(xp, As, xp.minimum(Xs, 1.1)), 1 - P_ser)
    Xfr = xp.where(frac, Xs, As + 2)
    Q_fr = _q_fraction(xp, As, Xfr, _prefactor(xp, As, Xfr))
    Atm = xp.where(temme, As, xp.full_like(As, 30.0))
    R, eta = _temme(xp, Atm, xp.where(temme, Xs, Atm))
    half = eta * math.sqrt(0.5) * xp.sqrt(Atm)
    Q_tm = 0.5 * _erfc(be, half) + R
    P_tm = 0.5 * _erfc(be, -half) - R
    P = xp.where(temme, P_tm, xp.where(frac, 1 - Q_fr, P_ser))
    Q = xp.where(temme, Q_tm, xp.where(frac, Q_fr, Q_ser))
    # the edges, in PyTorch's order of precedence (the last applied wins): NaN for a < 0
    # or x < 0, then a == 0, x == 0, a == inf, x == inf; a NaN otherwise propagates
    nan = xp.full_like(X, math.nan)
    zero, one = xp.zeros_like(X), xp.ones_like(X)
    P = xp.where(xp.isnan(A) | xp.isnan(X), nan, P)
    Q = xp.where(xp.isnan(A) | xp.isnan(X), nan, Q)
    inf_a = xp.isinf(A) & xp.isinf(X)
    for cond, p, q in (
            (xp.isinf(X), one, zero),
            (xp.isinf(A), xp.where(inf_a, nan, zero), xp.where(inf_a, nan, one)),
            (X == 0, zero, one),
            (A == 0, xp.where(X > 0, one, nan), xp.where(X > 0, zero, nan)),
            ((A < 0) | (X < 0), nan, nan)):
        P = xp.where(cond, p, P)
        Q = xp.where(cond, q, Q)
    return P, Q


@quiet
class Igamma(Function):
    """P(a, x) (upper=False) or Q(a, x); dX = +-dY x^(a-1) e^-x / Gamma(a); no dA."""

    def forward(self, A, X, upper=False):
        self.A, self.X, self.upper = A, X, upper
        P, Q = igamma_arrays(self.be, A, X)
        return Q if upper else P

    def backward(self, dY):
        if self.needs[0]:
            name = "igammac" if self.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not "
                                      "implemented.")
        xp, A, X = self.xp, self.A, self.X
        A, X = xp.broadcast_arrays(A, X)
        d = xp.exp((A - 1) * xp.log(X) - X - lgamma_array(xp, A))
        big = (A >= _STIRLING_FROM) & (X > 0) & ~xp.isinf(A) & ~xp.isinf(X)
        Xs = xp.where(big, X, xp.ones_like(X))
        # a x^a e^-x / Gamma(a + 1) / x, keeping its digits for large a
        d = xp.where(big, xp.exp(_log_prefactor(xp, xp.where(big, A, xp.ones_like(A)), Xs))
                     * A / Xs, d)
        if self.upper:
            d = -d
        return None, unbroadcast(xp, dY * d, self.X.shape)


def _args(name, input, other):
    a, x = promote(input, other, name)
    if not a._be.is_floating(a.dtype):
        from ..backend import dtype_name
        raise DtypeNotImplemented(f"{name}: not implemented for dtype "
                                  f"'{dtype_name(a.dtype)}' (input and other must be "
                                  "floating)")
    return a, x


def gammainc(input, other):
    """The regularized lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a), as
    ``torch.special.gammainc`` / ``torch.igamma``.

    Args:
        input: a, a floating Tensor (>= 0; NaN below).
        other: x, a floating Tensor (>= 0; NaN below), broadcast with ``input``.
    Returns:
        A Tensor of the promoted floating dtype; differentiable in ``other`` only (as
        PyTorch: the derivative in ``input`` raises NotImplementedError).
    """
    a, x = _args("gammainc", input, other)
    return Igamma.apply(a, x, upper=False)


def gammaincc(input, other):
    """The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), as
    ``torch.special.gammaincc`` / ``torch.igammac`` (arguments as :func:`gammainc`)."""
    a, x = _args("gammaincc", input, other)
    return Igamma.apply(a, x, upper=True)


igamma = gammainc
igammac = gammaincc


# -- Hurwitz zeta ----------------------------------------------------------------------------
# B_2, B_4, ..., B_20 / (2j)!: the Euler-Maclaurin corrections
from .special import _BERNOULLI  # noqa: E402

_ZETA_TERMS = 20
_EM = [b / math.factorial(2 * j) for j, b in enumerate(_BERNOULLI, start=1)]


def _zeta_positive(xp, S, Q):
    """zeta(s, q) for s > 1, q > 0 (finite) by Euler-Maclaurin summation: 20 terms summed,
    then a^(1-s)/(s-1) + a^-s/2 + sum_j B_2j/(2j)! s(s+1)...(s+2j-2) a^(-s-2j+1), a = q + 20
    (the corrections fall like ((s + 2j)/(2 pi a))^2 per term; where s is so large that they
    do not, the first term q^-s dwarfs them)."""
    total = xp.zeros_like(Q)
    for k in range(_ZETA_TERMS):
        total = total + xp.pow(Q + k, -S)
    a = Q + _ZETA_TERMS
    a_s = xp.pow(a, -S)
    total = total + a * a_s / (S - 1) + 0.5 * a_s
    t = S * a_s / a
    inv_a2 = 1 / (a * a)
    for j, c in enumerate(_EM, start=1):
        total = total + c * t
        t = t * (S + 2 * j - 1) * (S + 2 * j) * inv_a2
    return total


def zeta_array(xp, S, Q):
    """Hurwitz's zeta(s, q) = sum_k>=0 (q + k)^-s elementwise. For q < 0 (defined for integer
    s only), with f = q - floor(q): the terms with q + k < 0 are (-1)^s sum_j=1..m (j - f)^-s
    = (-1)^s (zeta(s, 1 - f) - zeta(s, 1 - q)), so zeta(s, q) = zeta(s, f) + that, three
    evaluations at positive arguments, with no loop over m = -floor(q)."""
    S, Q = xp.broadcast_arrays(S, Q)
    ok = (S > 1) & ~xp.isinf(S) & ~xp.isinf(Q) & ~xp.isnan(Q)
    Ss = xp.where(ok, S, xp.full_like(S, 2.0))
    Qs = xp.where(ok & (Q != 0), Q, xp.ones_like(Q))
    neg = Qs < 0
    F = Qs - xp.floor(Qs)
    F = xp.where(neg & (F > 0), F, xp.ones_like(F))
    direct = _zeta_positive(xp, Ss, xp.where(neg, F, Qs))
    sign = 1 - 2 * xp.remainder(Ss, 2.0)
    left = _zeta_positive(xp, Ss, xp.where(neg, 1 - F, Qs))
    right = _zeta_positive(xp, Ss, xp.where(neg, 1 - Qs, Qs))
    total = xp.where(neg, direct + sign * (left - right), direct)
    # the edges, as PyTorch: inf at s = 1 and at the poles q = 0, -1, ...; NaN for s < 1
    # and for q < 0 with s not an integer; s = inf: 1 at q = 1, inf for 0 < |q| < 1 (q^-inf),
    # else NaN; q = inf: NaN
    nan, inf = xp.full_like(total, math.nan), xp.full_like(total, math.inf)
    pole = (Q <= 0) & (Q == xp.floor(Q))
    at_inf = xp.where(Q == 1, xp.ones_like(Q), xp.where(xp.abs(Q) < 1, inf, nan))
    Y = xp.where(xp.isinf(S), at_inf, total)
    Y = xp.where(xp.isinf(Q), nan, Y)
    Y = xp.where((Q < 0) & (S != xp.floor(S)) & ~pole, nan, Y)
    Y = xp.where(pole, inf, Y)
    Y = xp.where(S < 1, nan, xp.where(S == 1, inf, Y))
    return xp.where(xp.isnan(S) | xp.isnan(Q), nan, Y)


@quiet
class Zeta(Function):
    """Hurwitz's zeta(s, q): PyTorch defines no derivative (backward raises)."""

    def forward(self, S, Q):
        return zeta_array(self.xp, S, Q)

    def backward(self, dY):
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")


def zeta(input, other):
    """Hurwitz's zeta function zeta(x, q) = sum_k>=0 (q + k)^-x, as ``torch.special.zeta``.

    Args:
        input: x (the exponent), a Tensor or a number.
        other: q, a Tensor or a number, broadcast with ``input``.
    Returns:
        A floating Tensor (integers give the default float dtype). Backward raises
        NotImplementedError, as in PyTorch.
    """
    s, q = promote(input, other, "zeta")
    return Zeta.apply(_floating(s), _floating(q))
