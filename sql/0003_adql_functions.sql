-- SQL helpers the ADQL translator emits (src/jmmctap/adql): geometry conversions that pgsphere 1.1.1
-- lacks, and the RegTAP text UDFs. Schema jmmctap_adql holds functions only (never tables, never
-- published); the query role may USE it and EXECUTE its functions. Angles of pgsphere values are
-- radians; the arrays returned to clients are DALI degrees (point [ra, dec], circle [ra, dec, r],
-- polygon [ra1, dec1, ...]) with ra in [0, 360).

CREATE SCHEMA jmmctap_adql;
COMMENT ON SCHEMA jmmctap_adql IS 'functions emitted by the ADQL translator (no tables)';
GRANT USAGE ON SCHEMA jmmctap_adql TO @query_role@;

-- Longitude in degrees, normalised to [0, 360) (degrees(2*pi - tiny) may round up to 360).
CREATE FUNCTION jmmctap_adql.lon_deg(p public.spoint) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN degrees(public.long(p)) >= 360 THEN degrees(public.long(p)) - 360 ELSE degrees(public.long(p)) END;

CREATE FUNCTION jmmctap_adql.point_array(p public.spoint) RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[jmmctap_adql.lon_deg(p), degrees(public.lat(p))];

CREATE FUNCTION jmmctap_adql.circle_array(c public.scircle) RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[jmmctap_adql.lon_deg(public.center(c)), degrees(public.lat(public.center(c))), degrees(public.radius(c))];

-- Vertices of a polygon as unit vectors (x, y, z triples), in stored order. pgsphere 1.1.1 has no
-- accessor, so the text form is parsed after forcing the radian output mode at full precision.
CREATE FUNCTION jmmctap_adql.spoly_vertices(poly public.spoly) RETURNS double precision[]
LANGUAGE plpgsql STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, public
AS $$
DECLARE
    m text[];
    lon double precision;
    lat double precision;
    result double precision[] := '{}';
BEGIN
    PERFORM public.set_sphere_output('RAD');
    PERFORM public.set_sphere_output_precision(17);
    FOR m IN SELECT regexp_matches(poly::text, '\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)', 'g') LOOP
        lon := m[1]::double precision;
        lat := m[2]::double precision;
        result := result || ARRAY[cos(lat) * cos(lon), cos(lat) * sin(lon), sin(lat)];
    END LOOP;
    RETURN result;
END $$;

-- Polygon as DALI degrees, counter-clockwise: walking the edges with ra growing to the right and
-- dec upwards (the vertex order of the ADQL and DALI examples), the inside is on the left.
CREATE FUNCTION jmmctap_adql.polygon_array(poly public.spoly) RETURNS double precision[]
LANGUAGE plpgsql STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, public
AS $$
DECLARE
    v double precision[] := jmmctap_adql.spoly_vertices(poly);
    n integer := array_length(v, 1) / 3;
    cx double precision := 0; cy double precision := 0; cz double precision := 0;
    turn double precision := 0;
    i integer; j integer; k integer;
    result double precision[] := '{}';
    lon double precision;
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        cx := cx + v[3 * i + 1]; cy := cy + v[3 * i + 2]; cz := cz + v[3 * i + 3];
    END LOOP;
    FOR i IN 0 .. n - 1 LOOP
        j := (i + 1) % n;
        -- (v_i x v_j) . centroid: positive when the inside is on the left of the edge
        turn := turn
            + (v[3 * i + 2] * v[3 * j + 3] - v[3 * i + 3] * v[3 * j + 2]) * cx
            + (v[3 * i + 3] * v[3 * j + 1] - v[3 * i + 1] * v[3 * j + 3]) * cy
            + (v[3 * i + 1] * v[3 * j + 2] - v[3 * i + 2] * v[3 * j + 1]) * cz;
    END LOOP;
    FOR i IN 0 .. n - 1 LOOP
        k := CASE WHEN turn >= 0 THEN i ELSE (n - i) % n END;
        lon := degrees(atan2(v[3 * k + 2], v[3 * k + 1]));
        IF lon < 0 THEN lon := lon + 360; END IF;
        IF lon >= 360 THEN lon := lon - 360; END IF;
        result := result || ARRAY[lon, degrees(asin(greatest(-1.0, least(1.0, v[3 * k + 3]))))];
    END LOOP;
    RETURN result;
END $$;

-- Centroid of a polygon: the normalised mean of its vertex vectors (pgsphere has no center(spoly)).
CREATE FUNCTION jmmctap_adql.spoly_centroid(poly public.spoly) RETURNS public.spoint
LANGUAGE plpgsql STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, public
AS $$
DECLARE
    v double precision[] := jmmctap_adql.spoly_vertices(poly);
    cx double precision := 0; cy double precision := 0; cz double precision := 0;
    i integer;
BEGIN
    FOR i IN 0 .. array_length(v, 1) / 3 - 1 LOOP
        cx := cx + v[3 * i + 1]; cy := cy + v[3 * i + 2]; cz := cz + v[3 * i + 3];
    END LOOP;
    RETURN public.spoint(atan2(cy, cx), atan2(cz, sqrt(cx * cx + cy * cy)));
END $$;

-- A polygon from its vertices (any expressions). NULL if a vertex is NULL. The text input form in
-- radians does not depend on the session's pgsphere output mode.
CREATE FUNCTION jmmctap_adql.spoly_from_points(VARIADIC points public.spoint[]) RETURNS public.spoly
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public
AS $$
DECLARE
    p public.spoint;
    parts text[] := '{}';
BEGIN
    IF points IS NULL OR array_position(points, NULL) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    FOREACH p IN ARRAY points LOOP
        parts := parts || format('(%s , %s)', public.long(p), public.lat(p));
    END LOOP;
    RETURN ('{' || array_to_string(parts, ',') || '}')::public.spoly;
END $$;

-- ADQL BOX (ADQL 2.1 sect. 4.2.9), degrees: great-circle sides through the ends of a cross of arms
-- w/2 (along the great circle of constant latitude through the centre) and h/2 (along the meridian).
CREATE FUNCTION jmmctap_adql.box(lon double precision, lat double precision,
                                 width double precision, height double precision) RETURNS public.spoly
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, public
AS $$
DECLARE
    hw double precision := radians(width) / 2;
    hh double precision := atan(cos(radians(width) / 2) * tan(radians(height) / 2));
    lon0 double precision := radians(lon);
    lat0 double precision := radians(lat);
    corners double precision[] := ARRAY[-hw, -hh, hw, -hh, hw, hh, -hw, hh];
    vertices public.spoint[] := '{}';
    i integer;
    x double precision; y double precision; z double precision;
    x1 double precision; z1 double precision;
BEGIN
    FOR i IN 0 .. 3 LOOP
        x := cos(corners[2 * i + 2]) * cos(corners[2 * i + 1]);
        y := cos(corners[2 * i + 2]) * sin(corners[2 * i + 1]);
        z := sin(corners[2 * i + 2]);
        x1 := x * cos(lat0) - z * sin(lat0);
        z1 := x * sin(lat0) + z * cos(lat0);
        vertices := vertices || public.spoint(
            atan2(x1 * sin(lon0) + y * cos(lon0), x1 * cos(lon0) - y * sin(lon0)),
            asin(greatest(-1.0, least(1.0, z1))));
    END LOOP;
    RETURN jmmctap_adql.spoly_from_points(VARIADIC vertices);
END $$;

-- RegTAP 1.2 sect. 9.2 / UDF catalogue text functions.
CREATE FUNCTION jmmctap_adql.ivo_hasword(haystack text, needle text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN haystack IS NULL OR needle IS NULL THEN NULL
            WHEN to_tsvector('english'::regconfig, haystack) @@ plainto_tsquery('english'::regconfig, needle)
                 THEN 1 ELSE 0 END;

CREATE FUNCTION jmmctap_adql.ivo_nocasematch(value text, pattern text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value IS NULL OR pattern IS NULL THEN NULL
            WHEN value ILIKE pattern ESCAPE '' THEN 1 ELSE 0 END;

CREATE FUNCTION jmmctap_adql.ivo_hashlist_has(hashlist text, item text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN hashlist IS NULL OR item IS NULL THEN NULL
            WHEN lower(item) = ANY (string_to_array(lower(hashlist), '#')) THEN 1 ELSE 0 END;

CREATE FUNCTION jmmctap_adql.ivo_interval_overlaps(l1 double precision, h1 double precision,
                                                   l2 double precision, h2 double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN h1 >= l2 AND h2 >= l1 THEN 1 WHEN h1 < l2 OR h2 < l1 THEN 0 END;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA jmmctap_adql TO @query_role@;
