"""Fixed lists the synthetic generator draws from: police forces, local-authority codes, names, words.

All invented or generic: the local-authority codes follow the ONS format and numbering ranges
(unitary E06, metropolitan E08, London E09, county E10, Welsh W06) without claiming each one exists;
the names are common first and family names, combined at random.
"""

from __future__ import annotations

FORCES = (
    "avon-somerset", "bedfordshire", "cambridgeshire", "cheshire", "city-of-london", "cleveland", "cumbria",
    "derbyshire", "devon-cornwall", "dorset", "durham", "dyfed-powys", "essex", "gloucestershire",
    "greater-manchester", "gwent", "hampshire", "hertfordshire", "humberside", "kent", "lancashire",
    "leicestershire", "lincolnshire", "merseyside", "metropolitan", "norfolk", "north-wales", "north-yorkshire",
    "northamptonshire", "northumbria", "nottinghamshire", "south-wales", "south-yorkshire", "staffordshire",
    "suffolk", "surrey", "sussex", "thames-valley", "warwickshire", "west-mercia", "west-midlands",
    "west-yorkshire", "wiltshire",
)  # fmt: skip


def _codes(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n:06d}" for n in range(1, count + 1))


# 152 English children's services authorities and 22 Welsh ones, in the ONS code format.
AUTHORITIES = _codes("E06", 63) + _codes("E08", 36) + _codes("E09", 33) + _codes("E10", 20) + _codes("W06", 22)

GIVEN_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Sophia", "Grace", "Freya", "Willow",
    "Florence", "Emily", "Ella", "Poppy", "Evie", "Elsie", "Charlotte", "Evelyn", "Sienna", "Daisy", "Phoebe",
    "Sofia", "Alice", "Harper", "Jessica", "Ruby", "Matilda", "Chloe", "Millie", "Eva", "Layla", "Rosie",
    "Holly", "Megan", "Leah", "Amber", "Jade", "Courtney", "Chantelle", "Kayleigh", "Nadia", "Zara", "Aisha",
    "Maryam", "Fatima", "Amira", "Hannah", "Lucy", "Katie", "Lauren", "Bethany", "Niamh", "Caitlin", "Summer",
    "Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Archie", "Henry", "Theodore",
    "Freddie", "Jack", "Charlie", "Theo", "Alfie", "Jacob", "Thomas", "Finley", "Arlo", "William", "Lucas",
    "Roman", "Tommy", "Isaac", "Teddy", "Alexander", "Luca", "Edward", "James", "Joshua", "Albie", "Elijah",
    "Max", "Mohammed", "Reuben", "Mason", "Kai", "Riley", "Tyler", "Kyle", "Connor", "Callum", "Jordan",
    "Liam", "Dylan", "Ethan", "Ryan", "Bradley", "Jayden", "Kieran", "Lewis", "Owen", "Rhys", "Ibrahim",
    "Yusuf", "Adam", "Omar", "Ali", "Hassan", "Daniel", "Samuel", "Nathan", "Aaron", "Ben",
)  # fmt: skip

FAMILY_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel",
    "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell", "Rose", "Davis", "Rodriguez", "Cox", "Alexander",
    "Morgan", "Moore", "Mills", "King", "Adams", "Garcia", "Baker", "Scott", "Hughes", "Turner", "Hill", "Ward",
    "Cooper", "Morris", "Harris", "Martin", "Edwards", "Bennett", "Carter", "Shaw", "Lee", "Price", "Young",
    "Allen", "Ahmed", "Hussain", "Ali", "Begum", "Singh", "Kaur", "Campbell", "Stewart", "Murray", "Kelly",
    "Bailey", "Collins", "Parker", "Richardson", "Watson", "Marshall", "Chapman", "Griffiths", "Cook", "Harrison",
    "Murphy", "Bell", "Owen", "Lloyd", "Rees", "Jenkins", "Powell", "Price", "Thomas", "Reid", "Grant", "Fox",
    "Foster", "Gray", "Kennedy", "Simpson", "Ellis", "Palmer", "Holmes", "Lane", "Day", "Knight", "Hunt",
    "Barnes", "Fisher", "Pearson", "Gibson", "Dixon", "Burton", "Webb", "Cole", "West", "Ford", "Wells",
    "Russell", "Hamilton", "Graham", "Wallace", "Okafor", "Mensah", "Nowak", "Kowalski", "Popescu", "Santos",
    "Silva", "Nguyen", "Chen", "Wang", "Begum", "Rahman", "Islam", "Akhtar", "Iqbal", "Malik", "Shah",
)  # fmt: skip

POSTCODE_AREAS = (
    "TS", "DL", "DH", "NE", "SR", "LS", "BD", "HX", "HD", "WF", "S", "DN", "HU", "YO", "M", "OL", "BL", "WN",
    "SK", "L", "CH", "WA", "PR", "BB", "LA", "CA", "B", "CV", "WS", "WV", "DY", "ST", "NG", "DE", "LE", "NN",
    "LN", "PE", "CB", "NR", "IP", "CO", "CM", "SS", "E", "N", "SE", "SW", "W", "NW", "CR", "BR", "DA", "ME",
    "CT", "TN", "BN", "RH", "GU", "SO", "PO", "BH", "SP", "SN", "BA", "BS", "GL", "OX", "RG", "HP", "MK",
    "LU", "SG", "AL", "WD", "EX", "PL", "TQ", "TR", "CF", "NP", "SA", "LL", "SY", "LD",
)  # fmt: skip

LAST_SEEN = (
    "Home address", "Placement address", "Town centre", "Outside school", "Bus station", "Railway station",
    "Friend's address", "Retail park", "Local park", "Shopping centre", "Fast food restaurant",
)  # fmt: skip

CIRCUMSTANCES = (
    "Did not return home at the agreed time.",
    "Left the placement after an argument with staff.",
    "Did not come home after school.",
    "Left home during the night; bed found empty in the morning.",
    "Failed to return from an agreed visit to family.",
    "Seen getting into a car with older males.",
    "Left after a disagreement with a parent about rules.",
    "Believed to be with a boyfriend or girlfriend; phone switched off.",
)

SOURCE_SYSTEMS = ("Niche", "Athena", "Connect", "Storm", "NICHE-RMS")
RETURN_LOCATIONS = ("Home address", "Placement address", "Friend's address", "Police station", "Town centre")
ETHNICITIES = ("W1", "W1", "W1", "W1", "W2", "W3", "A1", "A2", "A3", "B1", "B2", "M1", "M2", "O2")
