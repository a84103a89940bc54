-- JSDC (JMMC Stellar Diameters Catalogue, VizieR II/346 jsdc_v2): the table obsportal.targets links to.
-- Columns are VizieR's labels (case preserved: ADQL `ldd` and "LDD" both find "LDD"), with the
-- position in degrees (RAJ2000/DEJ2000, as the JMMC TAP server stored JSDC) and VizieR's record
-- number `recno` as the stable key. Metadata in tap_schema/32_jsdc.yaml.
CREATE TABLE jsdc.catalog (
    recno     bigint PRIMARY KEY,
    "Name"    text NOT NULL,
    "RAJ2000" double precision NOT NULL,
    "DEJ2000" double precision NOT NULL,
    "SpType"  text,
    "Bmag" real, "e_Bmag" real,
    "Vmag" real, "e_Vmag" real,
    "Rmag" real,
    "Imag" real,
    "Jmag" real, "e_Jmag" real,
    "Hmag" real, "e_Hmag" real,
    "Kmag" real, "e_Kmag" real,
    "Lmag" real, "e_Lmag" real,
    "Mmag" real, "e_Mmag" real,
    "Nmag" real, "e_Nmag" real,
    "LDD"     double precision,
    "e_LDD"   double precision,
    "LDDCHI"  double precision,
    "CalFlag" smallint CHECK ("CalFlag" BETWEEN 0 AND 7),
    "UDDB" double precision, "UDDV" double precision, "UDDR" double precision, "UDDI" double precision,
    "UDDJ" double precision, "UDDH" double precision, "UDDK" double precision, "UDDL" double precision,
    "UDDM" double precision, "UDDN" double precision
);
CREATE INDEX catalog_position ON jsdc.catalog USING gist (spoint(radians("RAJ2000"), radians("DEJ2000")));
CREATE INDEX catalog_name ON jsdc.catalog ("Name");
CREATE INDEX catalog_ldd ON jsdc.catalog ("LDD");
