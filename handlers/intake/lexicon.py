"""Word lists the intake reader relies on (Indonesian, English, Javanese, Sundanese).

Everything here is data: which words greet, which announce a complaint, which
are titles, which start an organisation's name, which can never be a person's
name. The rules that use them live in the modules beside this one; the field
rules themselves are written down in ``docs/intake.md``.

All entries are lower case; multi-word entries are matched on word boundaries
with any run of spaces between the words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def words(text: str) -> frozenset[str]:
    """A set from a whitespace-separated list (multi-word entries joined by ``_``)."""
    return frozenset(w.replace("_", " ") for w in text.split())


def alternation(entries: Iterable[str]) -> str:
    """A regex alternation of ``entries``, longest first, spaces as ``\\s+``."""
    ordered = sorted(set(entries), key=lambda e: (-len(e), e))
    return "|".join(re.escape(e).replace(r"\ ", r"\s+") for e in ordered)


#: Greetings and salutations that open a message (never a field value).
GREETINGS = words(
    """
    halo hallo haloo hallo halo2 helo hello hellow hai hay hi hii hiii hey heyy
    pagi siang sore malam met_pagi met_siang met_sore met_malam
    selamat_pagi selamat_siang selamat_sore selamat_malam slmt_pagi slmt_siang slmt_sore
    slmt_malam selamat_pagi_menjelang_siang
    assalamualaikum assalamu'alaikum assalamu_alaikum assalammualaikum assalamu'alaikum_wr_wb
    assalamualaikum_wr_wb assalamualaikum_wr._wb. assalamualaikum_warahmatullahi_wabarakatuh
    assalamualaikum_warahmatullah assalamu'alaikum_warahmatullah assalamualaikum_warahmatullahi
    assalamu'alaikum_warahmatullahi
    assalamu'alaikum_warahmatullahi_wabarakatuh asalamualaikum aslmkm ass_wr_wb ass.wr.wb
    ass_wr._wb. askum aslm salam salam_sejahtera salam_hormat shalom om_swastiastu namo_buddhaya
    permisi punten sampurasun nuwun_sewu nyuwun_sewu kulo_nuwun kula_nuwun ngapunten
    nyuwun_pangapunten horas horas_lae horas_bah tabe tabe' mejuah-juah om_swastiastu
    salamaik_pagi sugeng_enjing sugeng_siang sugeng_sonten sugeng_dalu sugeng_ndalu
    wilujeng_enjing wilujeng_siang wilujeng_sonten wilujeng_wengi
    mohon_maaf_mengganggu_waktunya maaf_mengganggu_waktunya mohon_maaf_mengganggu_waktu_bapak/ibu
    mohon_maaf_mengganggu_waktunya_bapak/ibu maaf_mengganggu_waktunya_bapak/ibu
    mohon_maaf_mengganggu_waktu_bapak_ibu mohon_maaf_mengganggu_waktunya_bapak_ibu
    maaf_mengganggu_waktunya_bapak_ibu
    good_morning good_afternoon good_evening good_day greetings
    dear dear_sir dear_madam dear_sir/madam dear_sir_or_madam to_whom_it_may_concern
    yth yth. kepada_yth kepada_yth. dengan_hormat dgn_hormat dg_hormat dng_hormat
    maaf_mengganggu mohon_maaf_mengganggu maaf_ganggu sorry_ganggu sori_ganggu maaf_menganggu
    mohon_maaf_sebelumnya maaf_sebelumnya
    """
)

#: Words people use to address the office or its officer ("min", "kak").
VOCATIVES = words(
    """
    min mimin admin kak ka kakak sis gan bro pak bpk bapak bu buk ibu ibuk bapak/ibu there
    everyone everybody folks
    bpk/ibu pak/bu bu/pak ibu/bapak bapak/ibu/sdr mas mbak mba bang abang teh teteh kang akang
    om tante dok sir madam sir/madam all semua tim team petugas cs customer_service
    bapak-ibu bapak2 ibu2 kakak2 rekan-rekan da uda uni lae ito daeng puang mak ndan
    """
)

#: Intent phrases: they announce a complaint without saying what happened.
#: Matched at the start of a clause, optionally after a subject ("saya", "kami").
INTENT_PHRASES = words(
    """
    mau_lapor mau_melapor mau_laporan mau_komplain mau_komplen mau_complain mau_ngadu
    mau_mengadu mau_mengadukan mau_aduan mau_pengaduan mau_menyampaikan_keluhan
    mau_menyampaikan_komplain mau_menyampaikan_aduan mau_menyampaikan_pengaduan
    mau_sampaikan_keluhan mau_tanya mau_nanya mau_bertanya mau_protes mau_keluhan
    mau_kasih_masukan mau_memberi_masukan mau_menyampaikan_masukan
    mau_lapor_keluhan mau_bikin_laporan mau_buat_laporan mau_buat_pengaduan
    mau_bikin_pengaduan mau_buat_aduan mau_ajukan_keluhan mau_mengajukan_keluhan
    mau_mengajukan_komplain mau_mengajukan_pengaduan mau_curhat
    ingin_lapor ingin_melapor ingin_melaporkan ingin_komplain ingin_mengadu ingin_mengadukan
    ingin_menyampaikan_keluhan ingin_menyampaikan_komplain ingin_menyampaikan_pengaduan
    ingin_menyampaikan_aduan ingin_menyampaikan ingin_bertanya ingin_protes
    ingin_mengajukan_keluhan ingin_mengajukan_pengaduan ingin_mengajukan_komplain
    hendak_menyampaikan_keluhan hendak_melapor hendak_mengadukan hendak_menyampaikan
    bermaksud_menyampaikan_keluhan bermaksud_menyampaikan_pengaduan bermaksud_mengadukan
    bermaksud_menyampaikan bermaksud_melaporkan
    menyampaikan_keluhan menyampaikan_pengaduan menyampaikan_komplain menyampaikan_aduan
    mengajukan_keluhan mengajukan_pengaduan mengajukan_komplain
    melaporkan lapor melapor komplain komplen complain ngadu mengadu mengadukan protes
    izin_lapor ijin_lapor izin_komplain ijin_komplain izin_mau_lapor ijin_mau_lapor
    izin_mau_komplain ijin_mau_komplain izin_mau_ngadu ijin_mau_ngadu izin_mengadu
    izin_menyampaikan_keluhan ijin_menyampaikan_keluhan izin_bertanya ijin_bertanya
    mo_lapor mo_komplain mw_lapor mw_komplain mau_komplein pengen_komplain pengen_lapor
    pgn_komplain pgn_lapor pengen_ngadu
    bisa_lapor bisa_komplain bisa_ngadu bisa_mengadu bisa_bantu bisa_dibantu
    ada_keluhan ada_komplain ada_yang_mau_saya_sampaikan ada_pengaduan ada_masalah
    punya_keluhan punya_komplain
    badhe_lapor badhe_matur badhe_sambat ajeng_lapor ajeng_komplain arep_lapor arep_komplain
    bade_lapor bade_ngadu bade_ngadukeun bade_komplain hoyong_lapor hoyong_ngadu
    want_to_complain want_to_report want_to_make_a_complaint want_to_file_a_complaint
    would_like_to_complain would_like_to_report would_like_to_make_a_complaint
    would_like_to_file_a_complaint would_like_to_raise_a_complaint would_like_to_lodge_a_complaint
    would_like_to_raise_a_concern would_like_to_raise_an_issue would_like_to_report_an_issue
    would_like_to_submit_a_complaint would_like_to_express_my_dissatisfaction
    want_to_raise_a_complaint want_to_submit_a_complaint want_to_raise_an_issue
    want_to_report_an_issue wish_to_complain wish_to_make_a_complaint wish_to_file_a_complaint
    wish_to_lodge_a_complaint wish_to_raise_a_complaint wish_to_report
    wish_to_express_my_dissatisfaction
    am_writing_to_complain am_writing_to_make_a_complaint am_writing_to_report
    am_writing_to_file_a_complaint am_writing_to_raise_a_complaint
    am_writing_to_lodge_a_complaint am_writing_to_express_my_dissatisfaction
    have_a_complaint have_a_problem have_an_issue make_a_complaint file_a_complaint
    complaint need_help
    like_to_complain like_to_report like_to_make_a_complaint like_to_file_a_complaint
    like_to_raise_a_complaint like_to_lodge_a_complaint like_to_raise_a_concern
    like_to_raise_an_issue like_to_report_an_issue like_to_submit_a_complaint
    like_to_express_my_dissatisfaction like_to_complain_about like_to_report_a_problem
    want_to_report_a_problem would_like_to_report_a_problem
    """
)

#: Words that may follow an intent phrase and link it to the matter ("soal").
INTENT_LINKS = words(
    """
    soal tentang terkait mengenai perihal atas bahwa masalah ttg ttng trkait mngenai
    sehubungan_dengan berkaitan_dengan berhubungan_dengan yaitu yakni sbb sebagai_berikut
    sebagai_berikut: dengan seputar perkara urusan
    about regarding concerning that on with re:
    """
)

#: Leading discourse fillers removed before the first comma of a message.
FILLERS = words(
    """
    jadi jadi_gini jadi_begini gini begini jd_gini jdi_gini jd gni gitu jadi_gitu
    oke ok okay okey baik baiklah iya ya yaa nah nih eh ehm hmm hm mm oh oiya oh_iya o_iya
    btw anu anuu sebelumnya langsung_saja langsung_aja to_the_point intinya singkatnya
    begini_pak begini_bu begini_min gini_min gini_kak gini_pak so well um uh okay_so
    so_basically basically alright right
    """
)

#: Closing formulas: thanks, generic requests with no object, polite ends.
CLOSINGS = words(
    """
    terima_kasih terimakasih trima_kasih trimakasih makasih makasi mksh mks thx thanks
    thank_you thank_you_very_much thanks_a_lot many_thanks tq ty tengkyu tks trims
    matur_nuwun maturnuwun matursuwun matur_suwun hatur_nuhun nuhun
    mohon_bantuannya mohon_bantuan mohon_dibantu mohon_bantu minta_tolong_dibantu
    minta_bantuannya tolong_dibantu tolong_bantu tolong_ya bantu_ya mohon_pencerahannya
    mohon_ditindaklanjuti mohon_segera_ditindaklanjuti mohon_tindak_lanjutnya
    mohon_tindaklanjutnya mohon_ditindak_lanjuti mohon_segera_ditindak_lanjuti
    mohon_segera_diproses mohon_diproses mohon_diperhatikan mohon_perhatiannya
    mohon_responnya mohon_respon mohon_tanggapannya mohon_segera_ditanggapi
    mohon_ditanggapi mohon_solusinya minta_solusinya mohon_solusi minta_solusi
    mohon_arahannya mohon_infonya mohon_kabar mohon_kabarnya mohon_informasinya
    mohon_segera_dibantu mohon_segera_diselesaikan mohon_diselesaikan mohon_dicek
    mohon_dicek_ya mohon_segera_dicek tolong_dicek tolong_dicek_ya tolong_diproses
    tolong_ditindaklanjuti tolong_segera_diproses tolong_segera_ditindaklanjuti
    mohon_maaf_merepotkan maaf_merepotkan maaf_ya maaf_sebelumnya sekian sekian_dan_terima_kasih
    wassalam wassalamualaikum wassalamu'alaikum wassalamu'alaikum_wr_wb wassalamualaikum_wr_wb
    wassalamualaikum_wr._wb. wassalamu'alaikum_warahmatullahi_wabarakatuh
    salam salam_hormat hormat_saya hormat_kami regards best_regards kind_regards
    warm_regards sincerely yours_sincerely yours_faithfully best cheers
    please_look_into_this please_help please_advise please_assist please_follow_up
    please_follow_up_on_this please_look_into_it please_check please_let_me_know
    looking_forward_to_your_reply looking_forward_to_your_response
    i_look_forward_to_your_reply i_look_forward_to_your_response
    thank_you_for_your_attention thank_you_for_your_help thanks_in_advance
    thank_you_in_advance appreciate_your_help i_appreciate_your_help
    ditunggu_kabarnya ditunggu_kabar_baiknya ditunggu_responnya ditunggu_balasannya
    kami_tunggu_kabar_baiknya saya_tunggu_kabar_baiknya kami_tunggu_tindak_lanjutnya
    saya_tunggu_tindak_lanjutnya kami_tunggu_balasannya saya_tunggu_balasannya
    ditunggu_ya ditunggu
    """
)

#: Sentence starts that mark a letter's closing paragraph ("Demikian …").
CLOSING_STARTS = words(
    """
    demikian atas_perhatian atas_perhatiannya atas_bantuan atas_bantuannya atas_kerjasama
    atas_kerja_sama atas_perhatian_dan_kerjasamanya atas_tanggapan besar_harapan_kami
    besar_harapan_saya kami_sangat_berharap_atas_tanggapan
    sekian thank_you_for thanks_for i_look_forward we_look_forward looking_forward
    terima_kasih_atas terimakasih_atas makasih_atas trima_kasih_atas
    mohon_maaf_atas_ketidaknyamanan
    """
)

#: Sign-off lines; the signer's name and details follow them.
SIGN_OFFS = words(
    """
    hormat_saya hormat_kami salam salam_hormat salam_saya salam_kami wassalam
    terima_kasih terimakasih makasih trims tks thx mksh tq regards best_regards kind_regards
    warm_regards
    best sincerely yours_sincerely yours_faithfully yours_truly respectfully cheers thanks
    thank_you many_thanks tabik salam_sejahtera
    wassalamualaikum wassalamu'alaikum wassalamualaikum_wr_wb wassalamu'alaikum_wr_wb
    wassalamualaikum_wr._wb. wassalamu'alaikum_wr._wb.
    wassalamu'alaikum_warahmatullahi_wabarakatuh wassalamualaikum_warahmatullahi_wabarakatuh
    """
)

#: Titles and honorifics written before a name (compared without dots, lower case).
PREFIX_TITLES = words(
    """
    bapak bpk bp pak ibu ibuk bu buk sdr sdri saudara saudari mas mbak mba kak kakak bang
    abang teh teteh aa akang kang uda uni cak ning bli mbok
    mr mrs ms miss mx sir madam mister mdm assoc associate asst assistant eng rer nat techn
    dr drg prof ir drs dra h hj kh haji hajjah hajah ustadz ustaz ustad ustadzah ustazah
    pdt pendeta romo pastor rm tn ny nn tuan nyonya nona apt ns raden ra kyai kiai
    ners bidan bd ibu_hj bapak_h
    """
)

#: Honorifics that are only ways of addressing someone (not degrees or religious titles).
HONORIFICS = words(
    """
    bapak bpk bp pak ibu ibuk bu buk sdr sdri saudara saudari mas mbak mba kak kakak bang
    abang teh teteh aa akang kang uda uni cak ning bli mbok mr mrs ms miss mx sir madam
    mister mdm tn ny nn tuan nyonya nona
    """
)

#: Suffix titles without dots, accepted after a comma ("Budi, SE").
PLAIN_SUFFIX_TITLES = words(
    """
    se st sh mm mt msi ssi spd mpd skom mkom skm mkes sked sfarm apt amd mba phd msc bsc
    ba ma meng beng lc cpa ak ca sag sip ssos sth mh mhum shum spsi mpsi ssn sds sgz
    bba mph md dvm jd llb llm mba. cfa pmp
    """
)

#: A dotted degree such as ``S.T.``, ``M.Sc.``, ``Ph.D.``, ``A.Md.Kes.``, ``Sp.PD``.
DOTTED_TITLE = r"(?:[A-Z][A-Za-z]{0,3}\.){1,4}(?:[A-Z][A-Za-z]{0,3}\.?)?"

#: Words that start an organisation's name (lower case, dots removed).
ORG_HEADS = words(
    """
    pt cv ud pd fa firma perum perumda persero koperasi kop kud ksp kspps bmt yayasan
    bumdes bumn bumd tbk
    dinas badan kantor balai lembaga kementerian kemenkes kemenperin direktorat biro
    sekretariat pemkab pemkot pemprov pemerintah bappeda bapenda bpbd bpjs dispenduk
    dukcapil disdukcapil disperindag diskominfo dlh dpupr pdam pln bpn polsek polres koramil
    kabupaten kota provinsi kecamatan kelurahan desa dusun kampung nagari gampong
    puskesmas pustu posyandu poskesdes polindes klinik rs rsu rsud rsia rsup rskia
    rumah_sakit apotek apotik laboratorium lab labkesda
    universitas univ universiti institut politeknik poltek akademi stikes stie stmik stt sttn
    makmal university institute college school hospital clinic laboratory department faculty ministry
    agency foundation corporation
    fakultas departemen jurusan prodi program_studi
    sekolah sd sdn sdit sdi smp smpn smpit sma sman smait smk smkn mi min mts mtsn ma man
    tk paud kb ra madrasah pondok_pesantren ponpes pesantren
    himpunan hima bem ukm karang_taruna pkk lpm bpd
    toko bengkel rumah_makan rumah warung depot restoran resto cafe kafe kedai hotel losmen
    homestay villa resort guest_house wisma
    penginapan pabrik industri bank bpr bri bni btn mandiri grup group kelompok_tani
    poktan gapoktan pokdarwis paguyuban asosiasi perkumpulan ikatan persatuan
    gereja masjid musholla mushola pura vihara klenteng salon percetakan konveksi
    catering katering usaha_dagang home_industry ukm umkm
    perusahaan
    """
)

#: Legal forms and abbreviations written in capitals when a name is title-cased.
ORG_CAPITALS = {
    w.lower(): w
    for w in """PT CV UD PD KUD KSP KSPPS BMT RS RSU RSUD RSIA RSUP RSKIA SD SDN SDIT SMP SMPN
    SMPIT SMA SMAN SMAIT SMK SMKN MI MIN MTs MTsN MA MAN TK PAUD Tbk BUMDes BUMN BUMD UKM
    UMKM PDAM PLN BPN BPJS BPBD BPR BRI BNI BTN ITS UI UGM IPB ITB UNS UNDIP UNAIR UNPAD
    BEM HIMA RT RW KB RA DLH DPUPR BAPPEDA""".split()
}

#: Words kept in lower case when an organisation name is title-cased.
ORG_LOWER = frozenset({"dan", "di", "ke", "of", "and", "the", "untuk", "for"})

#: Roles, positions and relations people introduce themselves with.
ROLE_WORDS = words(
    """
    staf staff pegawai karyawan karyawati pekerja buruh guru dosen kepala ketua wakil
    bendahara sekretaris admin administrator manajer manager direktur dirut komisaris
    owner pemilik pengelola pengurus anggota bagian divisi div departemen qc qa
    teknisi analis laboran petugas operator supervisor spv koordinator korlap marketing
    sales purchasing pengadaan procurement keuangan finance akunting accounting hrd hr
    legal humas mahasiswa mahasiswi siswa siswi pelajar alumni orang_tua wali ortu
    warga penduduk perangkat kades lurah camat sekdes kasi kaur kadus bidan perawat dokter
    apoteker pedagang petani peternak nelayan pengusaha wiraswasta pensiunan pns asn
    honorer tenaga perwakilan wakil utusan delegasi kuasa penanggung_jawab pj pic
    person_in_charge engineer officer representative head director employee student alumnus
    lecturer teacher member chairman coordinator consultant konsultan agen agent
    pengasuh pembina pendiri founder co-founder ceo cto cfo coo gm general_manager
    quality_control quality_assurance quality_manager plant_manager
    manajer_mutu manajer_teknis kepala_sekolah
    kepsek wakasek kaprodi kajur dekan rektor kabag kasubag kasubbag kabid kasie kasi
    sekdin kadis sekretaris_desa kepala_desa lurah bendahara_desa perangkat_desa
    ketua_rt ketua_rw takmir pengurus_masjid pengelola_usaha
    laboran pustakawan juru_masak sopir driver satpam security sanitarian nakes bidan_desa
    """
)

#: Words that introduce the organisation after a name ("dari", "from").
ORG_LINKS = words(
    """
    dari dr dri drpd asal ti saking mewakili perwakilan perwakilan_dari wakil_dari utusan_dari
    dari_pihak pihak atas_nama an a.n. a/n selaku sebagai di pada
    from of at with representing on_behalf_of for
    """
)

#: Phrases meaning "on my own behalf": the complainant is the customer.
SELF_PHRASES = words(
    """
    saya_sendiri sy_sendiri aku_sendiri gue_sendiri gw_sendiri saya_pribadi sy_pribadi
    diri_sendiri diri_saya_sendiri untuk_diri_sendiri buat_diri_sendiri utk_diri_sendiri
    untuk_saya_sendiri buat_saya_sendiri utk_saya_sendiri untuk_saya buat_saya utk_saya
    atas_nama_saya atas_nama_saya_sendiri atas_nama_pribadi atas_nama_diri_sendiri
    an_saya a.n._saya a.n_saya an._saya atas_nama_sendiri nama_saya_sendiri
    pribadi perorangan perseorangan individu personal pribadi_saja perorangan_saja
    sendiri saya pribadi_aja sendiri_aja saya_aja saya_saja diri_sendiri_saja
    punya_saya_sendiri punya_saya punya_sendiri milik_saya milik_sendiri milik_pribadi
    kepentingan_pribadi keperluan_pribadi urusan_pribadi
    tidak_ada_instansi gak_ada_instansi ga_ada_instansi nggak_ada_instansi tdk_ada_instansi
    bukan_instansi bukan_perusahaan tidak_mewakili_instansi tidak_mewakili_perusahaan
    kula_piyambak kulo_piyambak abdi_nyalira pribados
    myself me for_myself just_me only_me my_own self personally personal_capacity
    on_my_own_behalf on_my_behalf in_my_personal_capacity individual private
    it's_personal its_personal it_is_personal i_am me_myself
    """
)

#: Words that never start (or are) a person's name: function words, common verbs,
#: adjectives and nouns of complaints. "saya kecewa" is not a name.
NOT_NAMES = words(
    """
    mau ingin pengen pgn pingin hendak akan bakal sudah udah udh sdh dah telah belum blm
    blom tidak tdk gak ga ngga nggak enggak engga gk g nda ndak tak bukan bkn jangan
    sedang lagi lg masih msh baru juga jg pun cuma cuman hanya sangat amat banget bgt
    sekali terlalu kurang lebih paling agak cukup sering selalu pernah jarang kadang
    bisa dapat boleh harus perlu mesti mungkin sempat
    ada adalah ialah merupakan yaitu yakni punya memiliki mempunyai
    ini itu tsb tersebut yang yg dengan dgn dan atau tapi tetapi namun karena krn sebab
    jika kalau kalo kl klo bila apabila agar supaya untuk utk buat bagi dari dr di ke pada
    oleh dalam tentang soal terkait mengenai sejak sampai hingga sblm sebelum sesudah setelah
    stlh saat waktu ketika selama kemarin kmrn kemaren besok tadi nanti sekarang skrg
    hari minggu bulan tahun jam pagi siang sore malam
    mohon tolong minta coba silakan silahkan maaf permisi izin ijin
    kecewa kesal kesel marah bingung sedih senang puas capek lelah heran khawatir takut
    bosan jengkel dongkol sebel sebal malu ragu penasaran
    mengadu melapor lapor komplain komplen complain tanya nanya bertanya protes
    kirim mengirim dikirim datang ke kesana kesini pergi pulang menunggu nunggu tunggu
    bayar membayar dibayar sudah urus mengurus daftar mendaftar ambil mengambil
    pesan memesan beli membeli antri antre ngantri telepon telpon nelpon hubungi
    menghubungi chat email mengajukan ajukan minta meminta diminta disuruh dipersulit
    dilayani melayani ditolak menolak salah benar betul rusak hilang telat terlambat lambat
    lama cepat mahal murah buruk jelek baik bagus parah payah ribet susah sulit
    pelanggan peserta pengadu pelapor pemohon customer participant complainant client klien
    ambo awak ane beta
    warga masyarakat rakyat orang
    kami kita saya sy aku aq gue gw gua kita anda kamu km kalian dia mereka beliau
    nya nih sih dong deh kok kan yah lho loh toh tuh
    yes no not just very so really already also here there this that the a an and or
    but to is am are was were be been have has had do does did will would can could
    writing contacting complaining calling asking reporting disappointed sorry glad
    happy unhappy angry upset frustrated worried confused following inquiring
    mengenai perihal sehubungan terlampir berikut
    eh ehh maaf ralat dulu sorry sori oops ups bentar tunggu koreksi revisi aduh waduh
    iya iyaa ya yaa yes yep ok oke okay okey betul benar siap sip
    gimana gmn bagaimana kenapa knp apa kapan dimana mana siapa berapa
    perkenalkan kenalkan kenalin perkenankan perkenankanlah assalamualaikum halo hallo
    """
)

#: Verb-like prefixes (Indonesian morphology) of words that are rarely names in
#: an introduction slot when written in lower case ("saya mengirim …").
VERB_PREFIXES = ("meng", "meny", "mem", "men", "ber", "ter", "di", "ke", "per")

#: Vague complaint words: judgements without what happened.
VAGUE_WORDS = words(
    """
    pelayanan pelayanannya layanan layanannya pelayanan_nya service servicenya services
    petugas petugasnya pegawai pegawainya staf stafnya staff staffnya karyawan karyawannya
    kantor kantornya instansi sini disini di_sini situ kalian anda kamu
    prosesnya proses sistem sistemnya respon responnya respons tanggapan
    buruk jelek parah payah kecewa mengecewakan kecewain kacau amburadul berantakan lambat
    lelet lama lamban lambat_sekali gak_becus ga_becus nggak_becus tidak_becus gak_jelas
    ga_jelas nggak_jelas tidak_jelas gajelas gaje asal-asalan asal_asalan seenaknya
    semaunya sembarangan ribet ruwet bertele-tele jutek judes ketus galak sombong cuek
    tidak_profesional gak_profesional ga_profesional unprofessional bad terrible awful
    horrible poor poorly slow disappointing disappointed unacceptable worst rude
    unhelpful useless not_good no_good very_bad
    sangat sekali banget bgt bgtt bener bener2 bener-bener benar-benar sungguh amat
    terlalu kurang tidak gak ga nggak enggak tdk so very really extremely quite too
    the is are was were and yang nya ini itu saya sy aku kami sama dengan dgn sm
    puas memuaskan memuaskan. satisfied satisfying happy
    dan juga jg nih sih deh dong lho loh ya yah kok min kak pak bu
    mau komplain komplen lapor soal tentang terkait pengen ingin complain about my i am
    jadi makin semakin pokoknya pokok intinya
    lab labnya laboratorium akademik kampus loket balai kecamatan kelurahan desa bagian
    skrg sekarang sih bener beres becus profesional ngurus urus mengurus disappointing
    lambat lelet jelek buruk banget bgt parah kecewa mengecewakan sangat kurang baik memuaskan
    ramah sopan tanggap responsif cepat lama ribet susah sulit mahal kalian di ke
    with your you at in of for by this i'm i am we our totally absolutely service staff
    gini begini gitu begitu kayak kyk gimana bagaimana apa-apaan
    people office experience customer overall general generally honestly seriously
    """
)

#: Words that show a sentence says what happened (a predicate, a concrete thing).
CONTENT_HINTS = words(
    """
    belum blm blom udah sudah sdh telah tidak_ada gak_ada ga_ada nggak_ada tdk_ada
    hilang rusak salah keliru telat terlambat tertunda molor ditolak dipersulit dimintai
    diminta bayar biaya tarif tagihan invoice kuitansi kwitansi pungli pungutan uang
    sertifikat hasil laporan lhu sampel sample contoh uji pengujian kalibrasi
    ktp kk akta surat ijazah transkrip nilai krs ukt beasiswa
    menunggu nunggu antri antre janji dijanjikan jam tanggal minggu bulan hari
    dikirim kirim keluar terbit diterbitkan datang ditelpon dihubungi dibalas balas
    report certificate result results invoice charged delay delayed late missing lost
    damaged wrong refused rejected waiting waited weeks days months never yet still
    """
)

#: Labels of "Label: value" lines, by intake field (profile aliases add more).
LABELS = {
    "complainant_name": words(
        """
        nama nama_lengkap nama_pengadu nama_pelapor nama_pemohon nama_saya pengadu pelapor
        pemohon name full_name your_name complainant nama_anda nama_penanggung_jawab
        nama_kontak contact_person cp pic nama_pic yang_mengadu
        """
    ),
    "customer_name": words(
        """
        instansi perusahaan nama_perusahaan nama_instansi asal_instansi instansi/perusahaan
        perusahaan/instansi pelanggan nama_pelanggan peserta nama_peserta lembaga
        nama_lembaga organisasi nama_organisasi company company_name organisation
        organization institution customer customer_name participant nama_pelanggan/peserta
        pelanggan/peserta unit_kerja satuan_kerja satker sekolah nama_sekolah kantor
        asal asal_sekolah asal_kampus kampus universitas nama_usaha usaha toko nama_toko
        badan_usaha atas_nama a.n. an
        """
    ),
    "problem": words(
        """
        keluhan masalah pengaduan aduan komplain isi_keluhan isi_pengaduan isi_aduan
        uraian uraian_keluhan uraian_masalah kronologi kronologis permasalahan
        masalah_yang_diadukan keluhan_saya detail detail_keluhan keterangan
        complaint problem issue details description the_problem
        """
    ),
}

#: Labels that belong to no intake field: their lines never join a field value.
OTHER_LABELS = words(
    """
    jabatan posisi alamat alamat_kantor alamat_rumah alamat_perusahaan alamat_instansi
    no_hp no._hp nomor_hp hp no_telp no._telp telp telp. telepon no_telepon nomor_telepon
    no_wa wa whatsapp nomor_wa email e-mail surel nik nip nim npm nrp no_ktp kelas fakultas
    no._hp/wa no_hp/wa hp/wa telp/hp no_telp/hp program_studi/jurusan angkatan semester
    nomor_induk no_induk nisn kode_peserta no_peserta nomor_peserta id_peserta
    jurusan prodi program_studi tanggal tgl waktu hari tempat lokasi no_sampel nomor_sampel
    no._sampel no_order nomor_order no_lhu nomor_lhu no._lhu no_invoice nomor_invoice
    kode_sampel kode no_registrasi nomor_registrasi no_pelanggan nomor_pelanggan
    position title address phone mobile telephone tel fax e_mail date location ref
    reference order_number sample_number invoice_number perihal hal lampiran lamp subject re
    kepada dari cc bcc to from sent dikirim terkirim
    """
)

#: Words that may follow a greeting in a salutation line ("Selamat siang
#: Bapak/Ibu petugas BBSPJIKKP,"); capitalised words count too.
SALUTATION_WORDS = words(
    """
    yth yth. yang terhormat kepada petugas bagian divisi tim team admin pengelola layanan
    pelayanan sekretariat customer service pelanggan pengaduan humas kepala balai staf staff
    keuangan akademik laboratorium lab loket penerimaan sampel bapak/ibu ibu/bapak sdr/sdri
    di dan & of the for semua seluruh rekan-rekan teman-teman sekalian semuanya all
    """
)

#: Words that make a sentence say something happened (verbs, negations, times).
PREDICATES = words(
    """
    belum blm blom udah udh sudah sdh telah tidak tdk gak ga nggak enggak ngga gk tak bukan
    rusak hilang ilang salah keliru telat terlambat lambat lama ditolak tolak dipersulit mahal
    kurang gagal error eror macet hangus kenapa knp mengapa why
    datang dtg pergi kirim bayar ambil tanya minta dapat dpt kasih terima antar urus tunggu
    bilang lapor telpon telepon hubungi cek periksa uji tes daftar masuk keluar kluar jadi
    selesai beres terbit cetak tulis tertulis isi ganti tukar balik kembali hubungi
    not never doesn't don't wasn't isn't haven't hasn't won't cannot can't still yet
    late lost wrong broken damaged delayed missing refused rejected charged overcharged
    didn't received sent paid charged waited asked told said came went took made gave
    """
)

#: Short vocatives that may open a message without a comma ("min sertifikat saya …").
SHORT_VOCATIVES = words(
    "min mimin kak ka kakak sis gan pak bpk bu buk mas mbak mba bang teh kang admin"
)

#: Pings: a message of only these is a greeting.
PINGS = words("p pp ppp ping test tes testing halo? hallo? p?")

#: Words of department and shared-mailbox names ("Bagian Umum", "QA Department").
DEPARTMENT_WORDS = frozenset(
    """bagian bag subbag sub divisi div departemen dept department unit seksi bidang tim team
    admin administrasi administration sekretariat secretariat tata usaha tu humas info
    informasi information layanan pelayanan service services customer cs helpdesk support
    office kantor lab laboratorium laboratory qc qa quality procurement pengadaan purchasing
    keuangan finance accounting marketing sales hrd hr legal umum general noreply no-reply
    donotreply mailer daemon postmaster notification notifikasi system sistem official resmi
    group grup bersama shared mailbox inbox kontak contact redaksi registrasi registration
    akademik academic kemahasiswaan warehouse gudang logistik logistics produksi production
    manajemen management mutu""".split()
)

#: Words that judge the service ("parah", "disappointing"): with no predicate
#: beside them, a short text made of them is vague.
JUDGEMENTS = words(
    """
    buruk jelek parah payah kecewa mengecewakan kacau amburadul berantakan lambat lelet lama
    lamban ribet ruwet susah sulit mahal jutek judes ketus galak sombong cuek kasar
    gak_becus ga_becus nggak_becus tidak_becus gak_jelas ga_jelas nggak_jelas tidak_jelas
    gajelas gaje asal-asalan seenaknya semaunya sembarangan bertele-tele tidak_profesional
    gak_profesional ga_profesional unprofessional mengesalkan menyebalkan menjengkelkan
    suwe alon awon elek lami lila goreng hese lambat_pisan
    bad terrible awful horrible poor slow disappointing disappointed unacceptable worst rude
    unhelpful useless frustrating annoying ridiculous
    """
)

#: Subject pronouns across Indonesia's ways of speaking (Javanese, Sundanese,
#: Minang, Betawi, Ambon), as in "ambo Rizal" or "kulo piyambak".
PRONOUNS = words(
    "saya sy aku aq ak gue gua gw kami kita kula kulo abdi simkuring ambo awak ane ana beta i we me"
)

#: The part of :data:`NOT_NAMES` that is never a name, even written with a capital:
#: pronouns, prepositions, conjunctions, auxiliaries, particles. The rest
#: ("Bagus", "Indah", "Jaya") are names when capitalised beside another name.
FUNCTION_WORDS = words(
    """
    mau ingin pengen pgn pingin hendak akan bakal sudah udah udh sdh dah telah belum blm
    blom tidak tdk gak ga ngga nggak enggak engga gk g nda ndak tak bukan bkn jangan
    sedang lagi lg masih msh juga jg pun cuma cuman hanya sangat amat banget bgt
    sekali terlalu kurang lebih paling agak cukup sering selalu pernah bisa dapat boleh harus
    perlu mesti mungkin sempat ada adalah ialah merupakan yaitu yakni punya ini itu tsb
    tersebut yang yg dengan dgn dan atau tapi tetapi namun karena krn sebab jika kalau kalo
    kl klo bila apabila agar supaya untuk utk buat bagi dari dr di ke pada oleh dalam tentang
    soal terkait mengenai sejak sampai hingga sebelum sesudah setelah saat waktu ketika
    selama kemarin kmrn tadi nanti sekarang skrg mohon tolong minta silakan silahkan maaf
    permisi izin ijin kami kita saya sy aku aq gue gw gua anda kamu km kalian dia mereka
    beliau nya nih sih dong deh kok kan yah lho loh toh tuh yes no not just very so really
    already also here there this that the a an and or but to is am are was were be been have
    has had do does did will would can could iya ya ok oke gimana bagaimana kenapa apa kapan
    dimana siapa berapa perkenalkan kenalkan halo hallo assalamualaikum
    """
)
